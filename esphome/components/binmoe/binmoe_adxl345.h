#pragma once
// ADXL345 accelerometer as a BinMoE sample source: the chip samples at up to 3200 Hz into its 32-entry FIFO
// (stream mode); loop() drains it over I2C and feeds one axis to the component.
#include "esphome/core/defines.h"
#ifdef USE_BINMOE_ADXL345
#include "esphome/components/i2c/i2c.h"
#include "esphome/core/component.h"
#include "esphome/core/helpers.h"

#include "binmoe_component.h"

namespace esphome::binmoe {

class Adxl345Source : public Component, public i2c::I2CDevice {
 public:
  explicit Adxl345Source(BinMoEComponent *parent) : parent_(parent) {}
  void setup() override;
  void loop() override;
  void dump_config() override;
  float get_setup_priority() const override { return setup_priority::DATA; }
  void set_rate_code(uint8_t code) { this->rate_code_ = code; }
  void set_range_code(uint8_t code) { this->range_code_ = code; }
  void set_axis(uint8_t axis) { this->axis_ = axis; }

 protected:
  BinMoEComponent *parent_;
  HighFrequencyLoopRequester high_freq_;  // 3200 Hz fills the FIFO in 10 ms: faster than the default loop
  uint8_t rate_code_{0x0F}, range_code_{3}, axis_{2};
  uint32_t fifo_overflows_{0};
};

}  // namespace esphome::binmoe
#endif
