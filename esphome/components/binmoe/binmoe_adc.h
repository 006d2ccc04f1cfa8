#pragma once
// A piezo (or any analog vibration sensor) on an ESP32 ADC pin as a BinMoE sample source: the ADC's
// continuous (DMA) mode samples at the model's rate; loop() drains it, removes the bias and feeds int16.
#include "esphome/core/defines.h"
#ifdef USE_BINMOE_ADC
#include <esp_adc/adc_continuous.h>
#include <soc/soc_caps.h>

#include "esphome/core/component.h"

#include "binmoe_component.h"

namespace esphome::binmoe {

class AdcSource : public Component {
 public:
  explicit AdcSource(BinMoEComponent *parent) : parent_(parent) {}
  void setup() override;
  void loop() override;
  void dump_config() override;
  float get_setup_priority() const override { return setup_priority::DATA; }
  void set_pin(uint8_t pin) { this->pin_ = pin; }
  void set_sample_rate(uint32_t rate) { this->rate_ = rate; }

 protected:
  BinMoEComponent *parent_;
  adc_continuous_handle_t handle_{nullptr};
  uint8_t pin_{0};
  uint32_t rate_{16000};
  int32_t bias_q10_{2048 << 10};  // running mean of the raw 12-bit reading, Q10
  uint8_t raw_[256];
  int16_t samples_[256 / SOC_ADC_DIGI_RESULT_BYTES];
};

}  // namespace esphome::binmoe
#endif
