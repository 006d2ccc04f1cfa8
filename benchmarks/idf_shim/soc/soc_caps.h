// Measuring shim (see ../README.md): the ESP32-C3's ADC capabilities used by binmoe_adc.
#pragma once
#define SOC_ADC_DIGI_RESULT_BYTES (4)
#define SOC_ADC_DIGI_MAX_BITWIDTH (12)
