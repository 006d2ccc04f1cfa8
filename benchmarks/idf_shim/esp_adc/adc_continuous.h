// Measuring shim (see ../README.md): the continuous-mode ADC API of ESP-IDF 5.x as documented; no code.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef int esp_err_t;
#define ESP_OK 0
typedef enum { ADC_UNIT_1, ADC_UNIT_2 } adc_unit_t;
typedef enum { ADC_CHANNEL_0, ADC_CHANNEL_1, ADC_CHANNEL_2, ADC_CHANNEL_3, ADC_CHANNEL_4 } adc_channel_t;
typedef enum { ADC_ATTEN_DB_0, ADC_ATTEN_DB_2_5, ADC_ATTEN_DB_6, ADC_ATTEN_DB_12 } adc_atten_t;
typedef enum { ADC_CONV_SINGLE_UNIT_1 = 1, ADC_CONV_SINGLE_UNIT_2, ADC_CONV_BOTH_UNIT, ADC_CONV_ALTER_UNIT } adc_digi_convert_mode_t;
typedef enum { ADC_DIGI_OUTPUT_FORMAT_TYPE1, ADC_DIGI_OUTPUT_FORMAT_TYPE2 } adc_digi_output_format_t;
typedef struct adc_continuous_ctx_t *adc_continuous_handle_t;
typedef struct {
  uint32_t max_store_buf_size;
  uint32_t conv_frame_size;
  struct {
    uint32_t flush_pool : 1;
  } flags;
} adc_continuous_handle_cfg_t;
typedef struct {
  uint8_t atten;
  uint8_t channel;
  uint8_t unit;
  uint8_t bit_width;
} adc_digi_pattern_config_t;
typedef struct {
  uint32_t pattern_num;
  adc_digi_pattern_config_t *adc_pattern;
  uint32_t sample_freq_hz;
  adc_digi_convert_mode_t conv_mode;
  adc_digi_output_format_t format;
} adc_continuous_config_t;
typedef struct {
  union {
    struct {
      uint32_t data : 12;
      uint32_t reserved12 : 1;
      uint32_t channel : 4;
      uint32_t unit : 1;
      uint32_t reserved17_31 : 14;
    } type2;
    uint32_t val;
  };
} adc_digi_output_data_t;

#ifdef __cplusplus
extern "C" {
#endif
esp_err_t adc_continuous_new_handle(const adc_continuous_handle_cfg_t *hdl_config, adc_continuous_handle_t *ret_handle);
esp_err_t adc_continuous_config(adc_continuous_handle_t handle, const adc_continuous_config_t *config);
esp_err_t adc_continuous_start(adc_continuous_handle_t handle);
esp_err_t adc_continuous_read(adc_continuous_handle_t handle, uint8_t *buf, uint32_t length_max, uint32_t *out_length,
                              uint32_t timeout_ms);
esp_err_t adc_continuous_io_to_channel(int io_num, adc_unit_t *unit_id, adc_channel_t *channel);
#ifdef __cplusplus
}
#endif
