#include "binmoe_adxl345.h"
#ifdef USE_BINMOE_ADXL345
#include "esphome/core/log.h"

namespace esphome::binmoe {

static const char *const TAG = "binmoe.adxl345";
static constexpr uint8_t REG_DEVID = 0x00, REG_BW_RATE = 0x2C, REG_POWER_CTL = 0x2D, REG_INT_SOURCE = 0x30,
                         REG_DATA_FORMAT = 0x31, REG_DATAX0 = 0x32, REG_FIFO_CTL = 0x38, REG_FIFO_STATUS = 0x39;
static constexpr uint8_t DEVID = 0xE5, FULL_RES = 0x08, MEASURE = 0x08, FIFO_STREAM = 0x80, INT_OVERRUN = 0x01;

void Adxl345Source::setup() {
  uint8_t id = 0;
  // Standby, rate, full resolution (4 mg/LSB at every range), FIFO in stream mode, then measure.
  const uint8_t init[][2] = {{REG_POWER_CTL, 0},
                             {REG_BW_RATE, this->rate_code_},
                             {REG_DATA_FORMAT, static_cast<uint8_t>(FULL_RES | this->range_code_)},
                             {REG_FIFO_CTL, FIFO_STREAM},
                             {REG_POWER_CTL, MEASURE}};
  bool ok = this->read_byte(REG_DEVID, &id) && id == DEVID;
  for (const auto &reg : init)
    ok = ok && this->write_byte(reg[0], reg[1]);
  if (!ok) {
    ESP_LOGE(TAG, "ADXL345 at 0x%02X not set up (id 0x%02X, expected 0xE5)", this->address_, id);
    this->mark_failed();
    return;
  }
  this->high_freq_.start();
}

void Adxl345Source::loop() {
  uint8_t status = 0, source = 0;
  if (!this->read_byte(REG_FIFO_STATUS, &status))
    return;
  if (this->read_byte(REG_INT_SOURCE, &source) && (source & INT_OVERRUN))
    this->fifo_overflows_++;
  const int entries = status & 0x3F;
  int16_t samples[32];
  int n = 0;
  for (int i = 0; i < entries; i++) {
    uint8_t xyz[6];  // one multi-byte read pops one FIFO entry
    if (!this->read_bytes(REG_DATAX0, xyz, 6))
      break;
    const int16_t lsb = static_cast<int16_t>(xyz[2 * this->axis_] | (xyz[2 * this->axis_ + 1] << 8));
    samples[n++] = static_cast<int16_t>(lsb * 8);  // 13-bit signed -> int16 scale (+-4096 LSB -> +-32768)
  }
  if (n > 0)
    this->parent_->feed(samples, n);
}

void Adxl345Source::dump_config() {
  ESP_LOGCONFIG(TAG, "BinMoE ADXL345: rate 0x%02X, range %u, axis %c, FIFO overruns %u", this->rate_code_,
                this->range_code_, "xyz"[this->axis_], static_cast<unsigned>(this->fifo_overflows_));
  LOG_I2C_DEVICE(this);
}

}  // namespace esphome::binmoe
#endif
