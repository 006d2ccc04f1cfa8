#include "binmoe_replay.h"
#ifdef USE_BINMOE_REPLAY
#include <string.h>

#include "esphome/core/hal.h"
#include "esphome/core/log.h"

namespace esphome::binmoe {

static const char *const TAG = "binmoe.replay";

bool ReplaySource::start(const std::string &path) {
  if (this->file_ != nullptr) {
    fclose(this->file_);
    this->file_ = nullptr;
  }
  FILE *f = fopen(path.c_str(), "rb");
  if (f == nullptr) {
    ESP_LOGE(TAG, "replay: cannot open %s", path.c_str());
    return false;
  }
  // RIFF/WAVE: find `fmt ` (PCM, mono, 16 bit, the model's rate) and `data`.
  uint8_t riff[12];
  bool ok = fread(riff, 1, 12, f) == 12 && memcmp(riff, "RIFF", 4) == 0 && memcmp(riff + 8, "WAVE", 4) == 0;
  bool fmt_ok = false;
  uint32_t data_bytes = 0;
  while (ok) {
    uint8_t chunk[8];
    if (fread(chunk, 1, 8, f) != 8) {
      ok = false;
      break;
    }
    const uint32_t size = chunk[4] | (chunk[5] << 8) | (chunk[6] << 16) | (static_cast<uint32_t>(chunk[7]) << 24);
    if (memcmp(chunk, "fmt ", 4) == 0) {
      uint8_t fmt[16];
      if (size < 16 || fread(fmt, 1, 16, f) != 16) {
        ok = false;
        break;
      }
      const int format = fmt[0] | (fmt[1] << 8), channels = fmt[2] | (fmt[3] << 8), bits = fmt[14] | (fmt[15] << 8);
      const int32_t rate = fmt[4] | (fmt[5] << 8) | (fmt[6] << 16) | (fmt[7] << 24);
      if (format != 1 || channels != 1 || bits != 16 || rate != this->parent_->runner().sample_rate()) {
        ESP_LOGE(TAG, "replay: %s is format %d, %d channel(s), %d bit, %d Hz; the model needs PCM mono 16 bit %d Hz",
                 path.c_str(), format, channels, bits, static_cast<int>(rate),
                 static_cast<int>(this->parent_->runner().sample_rate()));
        fclose(f);
        return false;
      }
      fmt_ok = true;
      fseek(f, static_cast<long>(size - 16 + (size & 1)), SEEK_CUR);
    } else if (memcmp(chunk, "data", 4) == 0) {
      data_bytes = size;
      break;
    } else {
      fseek(f, static_cast<long>(size + (size & 1)), SEEK_CUR);
    }
  }
  if (!ok || !fmt_ok) {
    ESP_LOGE(TAG, "replay: %s is not a PCM WAV file", path.c_str());
    fclose(f);
    return false;
  }
  this->parent_->restart_stream();  // nothing of the last clip is mixed into this one
  this->file_ = f;
  this->remaining_ = data_bytes / 2;
  this->sent_ = 0;
  this->started_ms_ = millis();
  ESP_LOGI(TAG, "replay: %s, %u samples", path.c_str(), static_cast<unsigned>(this->remaining_));
  return true;
}

void ReplaySource::loop() {
  if (this->file_ == nullptr)
    return;
  uint64_t due = this->remaining_;
  if (this->speed_ > 0.0f) {
    const double elapsed_s = (millis() - this->started_ms_) / 1000.0;
    const uint64_t target = static_cast<uint64_t>(elapsed_s * this->speed_ * this->parent_->runner().sample_rate());
    due = target > this->sent_ ? target - this->sent_ : 0;
  }
  while (due > 0 && this->remaining_ > 0) {
    int n = static_cast<int>(due < 512 ? due : 512);
    if (static_cast<uint64_t>(n) > this->remaining_)
      n = static_cast<int>(this->remaining_);
    if (n > this->parent_->free_space())
      n = this->parent_->free_space();
    if (n <= 0)
      break;  // the ring is full: continue in the next loop()
    const int got = static_cast<int>(fread(this->chunk_, 2, static_cast<size_t>(n), this->file_));
    this->parent_->feed(this->chunk_, got);
    this->sent_ += static_cast<uint64_t>(got);
    this->remaining_ = got < n ? 0 : this->remaining_ - static_cast<uint64_t>(got);
    due -= static_cast<uint64_t>(got);
  }
  if (this->remaining_ == 0) {
    fclose(this->file_);
    this->file_ = nullptr;
    ESP_LOGI(TAG, "replay: done, %u samples", static_cast<unsigned>(this->sent_));
    this->parent_->end_stream();
  }
}

}  // namespace esphome::binmoe
#endif
