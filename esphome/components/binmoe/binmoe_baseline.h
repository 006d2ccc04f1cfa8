// Per-machine baseline and anomaly score (docs/vibration-baseline.md). The reference is
// node_factory/reference/baseline.py; tests/esphome/test_baseline.py feeds both the same signatures and
// compares every score, decision and stored byte. Integer arithmetic, fixed-size state, no heap.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace esphome::binmoe {

static constexpr int MAX_BASELINE_BANDS = 32;
static constexpr size_t BASELINE_HEADER_BYTES = 24;
static constexpr size_t MAX_BASELINE_BLOB = BASELINE_HEADER_BYTES + MAX_BASELINE_BANDS * 6 + 4;

// A window's signature: per band, the sum of its int8 features over the frames (features are frames x bands).
void baseline_signature(const int8_t *features, int frames, int bands, int32_t *signature);

struct Baseline {
  uint8_t feature_digest[8];
  uint32_t windows;
  int32_t mean[MAX_BASELINE_BANDS];
  uint16_t weight[MAX_BASELINE_BANDS];
  uint32_t threshold;
  uint8_t bands, enter_windows, exit_windows;

  uint32_t score(const int32_t *signature) const;
  // The stored form; returns its length (at most MAX_BASELINE_BLOB).
  size_t to_bytes(uint8_t *out) const;
};

enum class BaselineLoad : uint8_t { OK, CORRUPT, FOREIGN };
// Parses a stored baseline: CORRUPT (checksum, magic, version, sizes, zero counts) or FOREIGN (learnt with
// other features) leave `out` untouched.
BaselineLoad baseline_from_bytes(const uint8_t *blob, size_t len, const uint8_t digest[8], Baseline *out);

class BaselineLearner {
 public:
  // False (nothing started) for bands outside 1..MAX_BASELINE_BANDS or fewer than 4 windows.
  bool start(int bands, uint32_t total_windows, const uint8_t digest[8]);
  void push(const int32_t *signature);
  bool learning() const { return this->total_ != 0 && this->seen_ < this->total_; }
  bool done() const { return this->total_ != 0 && this->seen_ >= this->total_; }
  int progress_percent() const;
  // The baseline, once done().
  void result(Baseline *out) const;

 protected:
  void mean_weight_(int32_t *mean, uint16_t *weight) const;
  int64_t s_[MAX_BASELINE_BANDS];
  int64_t ss_[MAX_BASELINE_BANDS];
  int32_t first_mean_[MAX_BASELINE_BANDS];
  uint16_t first_weight_[MAX_BASELINE_BANDS];
  uint8_t digest_[8];
  uint32_t n_{0}, seen_{0}, total_{0};
  uint32_t cal_max_{0};
  uint8_t bands_{0};
  bool have_first_{false};
};

class AnomalyDetector {
 public:
  void set_baseline(const Baseline &baseline);
  // The window's score; *started is true when an anomaly starts with this window (hysteresis).
  uint32_t push(const int32_t *signature, bool *started);
  bool active() const { return this->active_; }
  const Baseline &baseline() const { return this->baseline_; }

 protected:
  Baseline baseline_{};
  uint32_t run_{0};
  bool active_{false};
};

}  // namespace esphome::binmoe
