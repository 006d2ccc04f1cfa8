// The model behind a small virtual interface, so the component (routing, entities, API) is ordinary code that
// does not depend on the model's sizes. The kernel and the model header are only included by
// binmoe_model.cpp: their `::binmoe` namespace would clash with `esphome::binmoe` in ESPHome's main.cpp.
#pragma once
#include <stdint.h>

namespace esphome::binmoe {

static constexpr int MAX_CLASSES = 16;  // protocol messages and per-class settings are sized for this

// The routing decision of one window (same fields as the kernel's binmoe::Decision).
struct Decision {
  int class_idx;    // top-1 class
  int32_t margin;   // top-1 minus top-2 integer logit
  bool escalate;    // margin below the class's threshold
};

// What one classified window gives the router.
struct WindowResult {
  Decision decision;
  int32_t logits[MAX_CLASSES];
  float confidence;  // softmax(logits * logit_scale) of the top class
  float level_dbfs;  // RMS level of the window's samples
};

class Runner {
 public:
  virtual ~Runner() = default;
  // Consume samples until a window is ready (or all are used); returns how many were consumed.
  virtual int push(const int16_t *samples, int count) = 0;
  virtual bool window_ready() const = 0;
  // Classify the ready window (clears the ready flag).
  virtual void classify(WindowResult &out) = 0;
  // The last classified window's features: frames x bands int8, frame-major; valid until the next push().
  virtual const int8_t *features() const = 0;
  virtual int feature_frames() const = 0;
  virtual int feature_bands() const = 0;
  virtual int classes() const = 0;
  virtual const char *class_name(int idx) const = 0;
  virtual int32_t margin_threshold(int idx) const = 0;
  virtual void set_margin_threshold(int idx, int32_t value) = 0;
  virtual const char *model_id() const = 0;
  virtual const char *model_hash() const = 0;  // full sha256 hex
  virtual int32_t sample_rate() const = 0;
  virtual int window_samples() const = 0;
  virtual int hop_samples() const = 0;
  virtual void reset() = 0;
};

// The configured model's runner (binmoe_model.cpp; a static object, nothing on the heap).
Runner *model_runner();

}  // namespace esphome::binmoe
