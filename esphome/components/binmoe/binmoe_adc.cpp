#include "binmoe_adc.h"
#ifdef USE_BINMOE_ADC
#include "esphome/core/log.h"

namespace esphome::binmoe {

static const char *const TAG = "binmoe.adc";

void AdcSource::setup() {
  adc_unit_t unit;
  adc_channel_t channel;
  if (adc_continuous_io_to_channel(this->pin_, &unit, &channel) != ESP_OK || unit != ADC_UNIT_1) {
    ESP_LOGE(TAG, "GPIO%u is not an ADC1 pin", this->pin_);
    this->mark_failed();
    return;
  }
  adc_continuous_handle_cfg_t handle_cfg{};
  handle_cfg.max_store_buf_size = 2048;
  handle_cfg.conv_frame_size = sizeof(this->raw_);
  adc_digi_pattern_config_t pattern{};
  pattern.atten = ADC_ATTEN_DB_12;
  pattern.channel = channel;
  pattern.unit = unit;
  pattern.bit_width = SOC_ADC_DIGI_MAX_BITWIDTH;
  adc_continuous_config_t config{};
  config.pattern_num = 1;
  config.adc_pattern = &pattern;
  config.sample_freq_hz = this->rate_;
  config.conv_mode = ADC_CONV_SINGLE_UNIT_1;
  config.format = ADC_DIGI_OUTPUT_FORMAT_TYPE2;
  if (adc_continuous_new_handle(&handle_cfg, &this->handle_) != ESP_OK ||
      adc_continuous_config(this->handle_, &config) != ESP_OK || adc_continuous_start(this->handle_) != ESP_OK) {
    ESP_LOGE(TAG, "ADC start failed");
    this->mark_failed();
  }
}

void AdcSource::loop() {
  uint32_t got = 0;
  while (adc_continuous_read(this->handle_, this->raw_, sizeof(this->raw_), &got, 0) == ESP_OK && got > 0) {
    int n = 0;
    for (uint32_t i = 0; i + SOC_ADC_DIGI_RESULT_BYTES <= got; i += SOC_ADC_DIGI_RESULT_BYTES) {
      const auto *p = reinterpret_cast<const adc_digi_output_data_t *>(this->raw_ + i);
      const int32_t x = static_cast<int32_t>(p->type2.data);   // 12 bit
      this->bias_q10_ += ((x << 10) - this->bias_q10_) >> 10;  // DC tracker, ~2.5 Hz corner at 16 kHz
      const int32_t v = ((x << 10) - this->bias_q10_) >> 6;    // remove the bias, 12 bit -> 16 bit
      this->samples_[n++] = static_cast<int16_t>(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
    }
    if (n > 0)
      this->parent_->feed(this->samples_, n);
  }
}

void AdcSource::dump_config() {
  ESP_LOGCONFIG(TAG, "BinMoE ADC: GPIO%u, %u Hz", this->pin_, static_cast<unsigned>(this->rate_));
}

}  // namespace esphome::binmoe
#endif
