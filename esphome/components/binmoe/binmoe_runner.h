// The configured model's streaming pipeline, seen by the component through a small non-virtual interface, so
// the component (routing, entities, API) is ordinary code that does not depend on the model's sizes. A
// firmware has exactly one model: the functions and the pipeline's state are defined in binmoe_runner.cpp,
// the only file that includes the kernel and the model header (their `::binmoe` namespace would clash with
// `esphome::binmoe` in ESPHome's main.cpp).
#pragma once
#include <stdint.h>

namespace esphome::binmoe {

static constexpr int MAX_CLASSES = 16;  // protocol messages and per-class settings are sized for this

// What one classified window gives the router and the protocol messages. The first three fields are the
// kernel's routing decision, binmoe::Decision (the one Decision type): it is copied field by field because this
// header cannot include the kernel (see above).
struct WindowResult {
  int class_idx;   // top-1 class
  int32_t margin;  // top-1 minus top-2 integer logit
  bool escalate;   // margin below the class's threshold
  int32_t logits[MAX_CLASSES];
  float confidence;  // softmax(logits * logit_scale) of the top class
  float level_dbfs;  // RMS level of the window's samples
};

// What the component needs to know of the configured model (a constant in binmoe_runner.cpp).
struct ModelInfo {
  const char *id;     // protocol `model`
  const char *hash8;  // protocol `model_hash`: 8 hex digits
  const char *const *class_names;
  int classes;
  int frames, bands;  // of the feature window
  int32_t sample_rate;
  int window_samples, hop_samples;  // the hop configured in YAML
  const uint16_t *band_edges;       // FFT-bin edges of the spectrum bands (bands + 1 for sound)
};
extern const ModelInfo MODEL_INFO;

class Runner {
 public:
  Runner();  // the model's own per-class margins
  // Consume samples until a window is ready (or all are used); returns how many were consumed.
  int push(const int16_t *samples, int count);
  bool window_ready() const;
  // Classify the ready window (clears the ready flag) with the current margin thresholds.
  void classify(WindowResult &out);
  // The last classified window's features: frames x bands int8, frame-major; valid until the next push().
  const int8_t *features() const;
  void reset();
  // Called with every frame's features (bands int8 levels) and FFT (re, im: FRAME bins each) right after they are
  // computed, during push(): the alarm detectors' feed (binmoe_alarm_code.h, binmoe_alarm_tone.h). A plain
  // function and its context; null: none.
  using FrameHook = void (*)(void *ctx, const int8_t *features, const int32_t *re, const int32_t *im);
  void set_frame_hook(FrameHook hook, void *ctx);

  int feature_frames() const { return MODEL_INFO.frames; }
  int feature_bands() const { return MODEL_INFO.bands; }
  const uint16_t *band_edges() const { return MODEL_INFO.band_edges; }
  int classes() const { return MODEL_INFO.classes; }
  const char *class_name(int idx) const { return MODEL_INFO.class_names[idx]; }
  const char *model_id() const { return MODEL_INFO.id; }
  const char *model_hash8() const { return MODEL_INFO.hash8; }
  int32_t sample_rate() const { return MODEL_INFO.sample_rate; }
  int window_samples() const { return MODEL_INFO.window_samples; }
  int hop_samples() const { return MODEL_INFO.hop_samples; }
  int32_t margin_threshold(int idx) const { return this->margins_[idx]; }
  void set_margin_threshold(int idx, int32_t value) {
    if (idx >= 0 && idx < MODEL_INFO.classes)
      this->margins_[idx] = value;
  }

 protected:
  int32_t margins_[MAX_CLASSES];  // per-class escalation margins (the model's, or set in YAML)
};

}  // namespace esphome::binmoe
