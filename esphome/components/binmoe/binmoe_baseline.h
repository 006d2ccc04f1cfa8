// Per-machine baseline and anomaly score (docs/vibration-baseline.md). The reference is
// node_factory/reference/baseline.py; tests/node_factory/test_baseline_node.py feeds both the same signatures and
// compares every score, decision and stored byte. Integer arithmetic, fixed-size state, no heap.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace esphome::binmoe {

static constexpr int MAX_BASELINE_BANDS = 16;  // every family's feature count
static constexpr int MAX_BASELINE_TRI = MAX_BASELINE_BANDS * (MAX_BASELINE_BANDS - 1) / 2;
static constexpr size_t BASELINE_HEADER_BYTES = 24;
static constexpr uint8_t BASELINE_VERSION = 2;  // 1: per-band variances only (a diagonal score)
// The stored form's length for `bands` bands: header, int32 mean, uint16 scale and weight per band, int16 L, CRC.
constexpr size_t baseline_blob_bytes(int bands) { return BASELINE_HEADER_BYTES + bands * 8 + bands * (bands - 1) + 4; }
static constexpr size_t MAX_BASELINE_BLOB = baseline_blob_bytes(MAX_BASELINE_BANDS);
// Format version 1 (per-band variances only, up to 32 bands) was stored in a blob of this size.
static constexpr size_t BASELINE_V1_BLOB = BASELINE_HEADER_BYTES + 32 * 6 + 4;

// An anomaly starts after enter_windows windows in a row above the threshold and ends after exit_windows below 3/4
// of it. The node's YAML gives them as lengths of signal (anomaly_start_after / anomaly_end_after), which codegen
// turns into windows at the node's hop; 3 and 6 are a hop of one window's vibration default.
static constexpr uint8_t BASELINE_ENTER_WINDOWS = 3, BASELINE_EXIT_WINDOWS = 6;
struct BaselinePersistence {
  uint8_t enter_windows, exit_windows;
};

// A window's signature: per band, the sum of its int8 features over the frames (features are frames x bands).
void baseline_signature(const int8_t *features, int frames, int bands, int32_t *signature);

// What a score needs (the reference's Model): per band the mean, the scale 2^19 / sd and the weight 2^28 / D,
// and the strictly lower triangle of the correlation's L D L^T factor (Q12, row by row).
struct BaselineModel {
  int32_t mean[MAX_BASELINE_BANDS];
  uint16_t scale[MAX_BASELINE_BANDS];
  uint16_t weight[MAX_BASELINE_BANDS];
  int16_t lower[MAX_BASELINE_TRI];

  // The Mahalanobis distance in Q4 under the full covariance, saturating at 2^32 - 1.
  uint32_t score(const int32_t *signature, int bands) const;
};

struct Baseline {
  uint8_t feature_digest[8];
  uint32_t windows;
  BaselineModel model;
  uint32_t threshold;
  uint8_t bands, enter_windows, exit_windows;

  uint32_t score(const int32_t *signature) const { return this->model.score(signature, this->bands); }
  // The stored form; returns its length (at most MAX_BASELINE_BLOB).
  size_t to_bytes(uint8_t *out) const;
};

// The format version of a stored baseline: its version byte if it starts with the magic "BMBL", else 0 (not
// a baseline, or too short to say). Used on any blob, of this format or an earlier one (whose size differs).
uint8_t baseline_format_version(const uint8_t *blob, size_t len);

enum class BaselineLoad : uint8_t { OK, CORRUPT, FOREIGN, OLD_VERSION };
// Parses a stored baseline: CORRUPT (checksum, magic, version, sizes, zero counts), FOREIGN (learnt with other
// features) or OLD_VERSION (an earlier format: learn it again) leave `out` untouched.
BaselineLoad baseline_from_bytes(const uint8_t *blob, size_t len, const uint8_t digest[8], Baseline *out);

class BaselineLearner {
 public:
  // False (nothing started) for bands outside 1..MAX_BASELINE_BANDS, fewer than 4 windows or a zero count in
  // `persistence` (the hysteresis the baseline is stored with: the node's configured counts at its hop).
  bool start(int bands, uint32_t total_windows, const uint8_t digest[8],
             BaselinePersistence persistence = {BASELINE_ENTER_WINDOWS, BASELINE_EXIT_WINDOWS});
  void push(const int32_t *signature);
  bool learning() const { return this->total_ != 0 && this->seen_ < this->total_; }
  bool done() const { return this->total_ != 0 && this->seen_ >= this->total_; }
  int progress_percent() const;
  // The baseline, once done().
  void result(Baseline *out) const;

 protected:
  void model_(BaselineModel *out) const;
  int64_t s_[MAX_BASELINE_BANDS];
  int64_t ss_[MAX_BASELINE_BANDS * (MAX_BASELINE_BANDS + 1) / 2];  // sums of products, lower triangle row by row
  BaselineModel first_;
  uint8_t digest_[8];
  uint32_t n_{0}, seen_{0}, total_{0};
  uint32_t cal_max_{0};
  uint8_t bands_{0};
  BaselinePersistence persistence_{BASELINE_ENTER_WINDOWS, BASELINE_EXIT_WINDOWS};
  bool have_first_{false};
};

class AnomalyDetector {
 public:
  void set_baseline(const Baseline &baseline);
  // Scores with other hysteresis counts than the baseline was stored with (a node's configured ones); 0 keeps one.
  void set_persistence(BaselinePersistence persistence);
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
