#pragma once
// Host-only sample source for tests and demos: replays a 16-bit PCM mono WAV at the model's sample rate, at
// `speed` x real time (0: as fast as the node classifies). Each clip starts a fresh stream.
#include "esphome/core/defines.h"
#ifdef USE_BINMOE_REPLAY
#include <stdio.h>

#include <string>

#include "esphome/core/component.h"

#include "binmoe_component.h"

namespace esphome::binmoe {

class ReplaySource : public Component {
 public:
  explicit ReplaySource(BinMoEComponent *parent) : parent_(parent) {}
  void loop() override;
  float get_setup_priority() const override { return setup_priority::DATA; }
  void set_speed(float speed) { this->speed_ = speed; }
  // Opens and checks the file; false (with an error in the log) if it is not a WAV the model can take.
  bool start(const std::string &path);
  bool is_running() const { return this->file_ != nullptr; }

 protected:
  BinMoEComponent *parent_;
  FILE *file_{nullptr};
  float speed_{1.0f};
  uint32_t started_ms_{0};
  uint64_t sent_{0}, remaining_{0};
  int16_t chunk_[512];
};

}  // namespace esphome::binmoe
#endif
