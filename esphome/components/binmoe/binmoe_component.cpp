#include "binmoe_component.h"

#include "automation.h"

#include <math.h>
#include <string.h>

#include "esphome/core/application.h"
#include "esphome/core/hal.h"
#include "esphome/core/log.h"
#include "esphome/core/preferences.h"

#ifdef BINMOE_HA_EVENTS
#include "esphome/components/api/api_server.h"
#endif

namespace esphome::binmoe {

static const char *const TAG = "binmoe";

#ifdef USE_BINMOE_BASELINE
// The preference's key: one baseline per node; the blob's feature digest says which model it belongs to.
static const char *const BASELINE_PREF_NAME = "binmoe_baseline";
static const char *const BASELINE_PREF2_NAME = "binmoe_baseline_2";
#ifdef USE_BINMOE_ORDERS
static const char *const BASELINE_SPEEDS_PREF_NAME = "binmoe_baseline_rpm";

// The checksum a stored baseline of `len` bytes ends with (little endian).
static uint32_t blob_checksum(const uint8_t *blob, size_t len) {
  return uint32_t{blob[len - 4]} | uint32_t{blob[len - 3]} << 8 | uint32_t{blob[len - 2]} << 16 |
         uint32_t{blob[len - 1]} << 24;
}
#endif

const char *baseline_state_name(BaselineState state) {
  switch (state) {
    case BaselineState::LEARNING:
      return "learning";
    case BaselineState::READY:
      return "ready";
    case BaselineState::CORRUPT:
      return "corrupt";
    case BaselineState::FOREIGN:
      return "foreign";
    default:
      return "none";
  }
}
#endif

void BinMoEComponent::setup() {
  this->router_.configure(this->router_config_, this->runner_.classes());
  this->messages_.set_classes(this->runner_.classes());
  this->identity_.node_id = App.get_name().c_str();
  this->identity_.model_id = this->runner_.model_id();
  this->identity_.model_hash8 = this->runner_.model_hash8();
  this->identity_.frames = this->runner_.feature_frames();
  this->identity_.bands = this->runner_.feature_bands();
  this->identity_.sample_rate = this->runner_.sample_rate();
  this->identity_.hop_samples = this->runner_.hop_samples();
#ifdef USE_BINMOE_ALARM_CODE
  if (this->router_.code_events() && !this->code_detector_.configure(this->runner_.feature_bands()))
    this->router_.set_code_classes(-1, -1);  // more bands than the detector has room for (codegen refuses them)
  if (this->router_.code_events())
    this->runner_.set_frame_hook(&BinMoEComponent::alarm_frame_, this);
#else
  this->router_.set_code_classes(-1, -1);
#endif
#if defined(USE_BINARY_SENSOR) && defined(USE_BINMOE_ALARM_EVENTS)
  for (uint8_t i = 0; i < this->alarm_sensor_count_; i++)
    this->alarm_sensors_[i].sensor->publish_initial_state(false);  // no alarm heard yet
#endif
  snprintf(this->identity_.boot, sizeof(this->identity_.boot), "%08x", static_cast<unsigned>(random_uint32()));
#ifdef BINMOE_HA_EVENTS
  this->request_.data.init(MAX_FIELDS);  // once: messages reuse it, so sending does not allocate here
  this->request_.is_event = true;
#ifdef BINMOE_OUTBOX_SIZE
  this->outbox_.init(this->outbox_arena_, sizeof(this->outbox_arena_), this->runner_.classes());
#endif
#endif
#ifdef USE_BINMOE_MICROPHONE
  if (this->microphone_source_ != nullptr) {
    // Runs in the microphone's task: only copies into the ring (16-bit mono, little endian).
    this->microphone_source_->add_data_callback([this](const std::vector<uint8_t> &data) {
      this->ring_.write(reinterpret_cast<const int16_t *>(data.data()), static_cast<int>(data.size() / 2));
    });
    this->microphone_source_->start();
  }
#endif
#ifdef USE_BINMOE_ORDERS
  if (this->capture_samples_ > 0) {
    // once, here: a capture of a few seconds is tens of KB (PSRAM first where the chip has it); IMA ADPCM keeps
    // whole blocks of 505 samples in 256 bytes, plus the block being written
    RAMAllocator<uint8_t> samples;
    RAMAllocator<char> text;
    const uint32_t blocks = (this->capture_samples_ + ADPCM_BLOCK_SAMPLES - 1) / ADPCM_BLOCK_SAMPLES;
    const size_t ring = this->capture_adpcm_ ? (blocks + 1) * ADPCM_BLOCK_BYTES : size_t{this->capture_samples_} * 2;
    const size_t bytes = this->capture_adpcm_ ? blocks * ADPCM_BLOCK_BYTES : ring;
    uint8_t *storage = samples.allocate(ring);
    this->capture_text_ = storage != nullptr ? text.allocate(base64_size(bytes)) : nullptr;
    if (this->capture_text_ == nullptr) {
      ESP_LOGE(TAG, "No memory for a %u-sample capture: escalations go without fault identification",
               static_cast<unsigned>(this->capture_samples_));
      if (storage != nullptr)
        samples.deallocate(storage, ring);
    } else if (this->capture_adpcm_) {
      this->adpcm_.init(storage, blocks);
    } else {
      this->capture_ = reinterpret_cast<int16_t *>(storage);
    }
    snprintf(this->capture_rate_text_, sizeof(this->capture_rate_text_), "%d",
             static_cast<int>(this->runner_.sample_rate()));
  }
#endif
#ifdef USE_BINMOE_BASELINE
  this->baseline_pref_ = global_preferences->make_preference<BaselineChunk>(fnv1_hash(BASELINE_PREF_NAME), true);
  this->baseline_pref2_ = global_preferences->make_preference<BaselineChunk>(fnv1_hash(BASELINE_PREF2_NAME), true);
#ifdef USE_BINMOE_ORDERS
  this->baseline_speeds_pref_ =
      global_preferences->make_preference<BaselineSpeeds>(fnv1_hash(BASELINE_SPEEDS_PREF_NAME), true);
#endif
  this->load_baseline_();
#endif
#ifdef USE_TEXT_SENSOR
  if (this->model_sensor_ != nullptr) {
    char version[48];
    snprintf(version, sizeof(version), "%s (%s)", this->identity_.model_id, this->identity_.model_hash8);
    this->model_sensor_->publish_state(version);
  }
#endif
}

void BinMoEComponent::loop() {
  int windows = 0;
  const int16_t *samples;
  int n;
  while (windows < MAX_WINDOWS_PER_LOOP && (n = this->ring_.peek(&samples)) > 0) {
    const int used = this->runner_.push(samples, n);
#ifdef USE_BINMOE_ORDERS
    this->record_capture_(samples, used);  // before the window is handled: the capture ends with its last sample
#endif
    this->ring_.consume(used);
    this->stream_rem_ += static_cast<uint32_t>(used) * 1000u;  // used <= RING_SAMPLES: no overflow
    const uint32_t rate = static_cast<uint32_t>(this->runner_.sample_rate());
    this->stream_ms_ += this->stream_rem_ / rate;
    this->stream_rem_ %= rate;
    if (this->runner_.window_ready()) {
      this->handle_window_();
      windows++;
    }
  }
#if defined(USE_BINMOE_REPLAY) && defined(USE_BINARY_SENSOR) && defined(USE_BINMOE_ALARM_EVENTS)
  if (this->stream_ended_ && this->ring_.available() == 0) {  // the clip's last samples are classified
    this->stream_ended_ = false;
    for (uint8_t i = 0; i < this->alarm_sensor_count_; i++)
      this->alarm_sensors_[i].sensor->publish_state(false);
  }
#endif
#ifdef BINMOE_HA_EVENTS
  if (!this->outbox_.empty())
    this->flush_outbox_();
#endif
  const uint32_t overruns = this->ring_.overruns();
  if (overruns != this->overruns_reported_) {
    ESP_LOGW(TAG, "Sample buffer overrun: %u samples lost", static_cast<unsigned>(overruns));
    this->overruns_reported_ = overruns;
  }
}

void BinMoEComponent::handle_window_() {
  const uint32_t started = micros();
  this->runner_.classify(this->window_);
  this->inference_us_sum_ += micros() - started;
  this->inference_count_++;
  const WindowResult &w = this->window_;
  const float confidence = w.confidence;
  this->last_confidence_ = confidence;
#ifdef USE_BINMOE_BASELINE
  this->baseline_window_();
#endif
#ifdef USE_BINMOE_ALARM_CODE
  int code_class = this->router_.code_events() ? this->alarm_code_window_() : -1;
#else
  const int code_class = -1;
#endif
#ifdef USE_BINMOE_ALARM_TONE
  // either detector: a window without a code of the band detector takes the tone detector's (T3 or T4), so
  // the router's event rule makes one event of one alarm, whichever heard it (events.py, node_stream.py)
  if (code_class < 0 && this->tone_code_ != AlarmToneDetector::NONE && this->router_.code_events())
    code_class = this->router_.code_class(this->tone_code_ == AlarmToneDetector::T3 ? AlarmCodeDetector::T3
                                                                                    : AlarmCodeDetector::T4);
  this->tone_code_ = AlarmToneDetector::NONE;
#endif
  const Routed routed = this->router_.route(w, this->stream_ms_, code_class);
#if defined(USE_BINARY_SENSOR) && defined(USE_BINMOE_ALARM_EVENTS)
  this->publish_alarm_states_();
#endif
  if (routed.outcome == Outcome::NONE)
    return;
  const int reported = routed.reported_class(w.class_idx);
  const char *name = this->runner_.class_name(reported);
  static const char *const OUTCOMES[] = {"", "Detection", "Escalation", "Escalation dropped (rate limit)"};
#ifdef USE_BINMOE_ALARM_CODE
  if (routed.code_class >= 0) {
    ESP_LOGD(TAG, "%s: %s (temporal-%s code)", OUTCOMES[static_cast<int>(routed.outcome)], name,
             routed.code == 1 ? "three" : "four");
  } else
#endif
  {
    ESP_LOGD(TAG, "%s: %s (confidence %.2f, margin %d)", OUTCOMES[static_cast<int>(routed.outcome)], name, confidence,
             static_cast<int>(w.margin));
  }
  if (routed.outcome == Outcome::DROPPED)
    return;
  this->send_message_(routed, name);
#if defined(USE_EVENT) || defined(USE_BINMOE_TRIGGERS)
  const bool detection = routed.outcome == Outcome::DETECTION;
  const std::string class_name(name);  // one copy for the event entity and the automations (class names are short)
#endif
#ifdef USE_EVENT
  if (detection && this->detection_event_ != nullptr)
    this->detection_event_->trigger(class_name);
#endif
#ifdef USE_BINMOE_TRIGGERS
  for (auto *trigger : detection ? this->detection_triggers_ : this->escalation_triggers_) {
    if (trigger->accepts(reported))
      trigger->trigger(class_name, routed.code_class >= 0 ? 1.0f : confidence);
  }
#endif
}

#ifdef USE_BINMOE_ALARM_CODE
int BinMoEComponent::alarm_code_window_() {
  const int found = this->code_found_;
  this->code_found_ = AlarmCodeDetector::NONE;
  return found == AlarmCodeDetector::NONE ? -1 : this->router_.code_class(found);
}

void BinMoEComponent::alarm_frame_(void *self, const int8_t *features, const int32_t *re, const int32_t *im) {
  auto *component = static_cast<BinMoEComponent *>(self);
  uint16_t tone_bands = AlarmCodeDetector::ALL_BANDS;  // without the tone detector no band's T4 needs a tone
#ifdef USE_BINMOE_ALARM_TONE
  const uint8_t tone = component->tone_detector_.push(re, im);
  if (component->tone_code_ == AlarmToneDetector::NONE)
    component->tone_code_ = tone;
  // only where it follows T4 too (`co_tone`): without that path it holds no tone through T4's silence, and a CO
  // sounder's 0.1 s pulses seldom open a channel by themselves
  if (component->tone_detector_.t4())
    tone_bands =
        component->tone_detector_.band_mask(component->runner_.band_edges(), component->runner_.feature_bands());
#endif
  const AlarmCodeDetector::Code code = component->code_detector_.push(features, tone_bands);
  if (component->code_found_ == AlarmCodeDetector::NONE)
    component->code_found_ = code;
}
#endif

#ifdef USE_BINMOE_BASELINE
// Why a stored or a set baseline was refused (`corrupt`: what CORRUPT means for that source).
static const char *baseline_refusal(BaselineLoad load, const char *corrupt) {
  if (load == BaselineLoad::FOREIGN)
    return "learnt with other features (another model)";
  return load == BaselineLoad::OLD_VERSION ? "an older format version" : corrupt;
}

void BinMoEComponent::load_baseline_() {
  BaselineBlob blob;
  BaselineChunk chunk;
  if (!this->baseline_pref_.load(&chunk)) {
    // A preference's length is part of its identity: a baseline stored by a firmware with format version 1
    // (per-band variances, a blob of another size) only loads as that size. Say so instead of "none".
    BaselineBlobV1 old;
    ESPPreferenceObject old_pref =
        global_preferences->make_preference<BaselineBlobV1>(fnv1_hash(BASELINE_PREF_NAME), true);
    const uint8_t version = old_pref.load(&old) ? baseline_format_version(old.bytes, sizeof(old.bytes)) : 0;
    if (version != 0 && version < BASELINE_VERSION) {
      ESP_LOGW(TAG, "Stored baseline refused: format version %u, this firmware uses %u; learn a new one", version,
               BASELINE_VERSION);
      this->set_baseline_state_(BaselineState::FOREIGN);
      return;
    }
    ESP_LOGI(TAG, "No stored baseline: learn one with binmoe.learn_baseline");
    this->set_baseline_state_(BaselineState::NONE);
    return;
  }
  for (size_t i = 0; i < BASELINE_CHUNK_BYTES; i++)
    blob.bytes[i] = chunk.bytes[i];
  if (!this->baseline_pref2_.load(&chunk)) {
    ESP_LOGW(TAG, "Stored baseline refused: its second half is missing; learn a new one");
    this->set_baseline_state_(BaselineState::CORRUPT);
    return;
  }
  for (size_t i = 0; i < BASELINE_CHUNK_BYTES; i++)
    blob.bytes[BASELINE_CHUNK_BYTES + i] = chunk.bytes[i];
  // the used length from the blob's band count (byte 5); a damaged count fails the checksum or the size check
  const size_t used = blob.bytes[5] <= MAX_BASELINE_BANDS ? baseline_blob_bytes(blob.bytes[5]) : sizeof(blob.bytes);
  Baseline baseline;
  const BaselineLoad load = baseline_from_bytes(blob.bytes, used, this->feature_digest_, &baseline);
  if (load != BaselineLoad::OK) {
    const bool foreign = load == BaselineLoad::FOREIGN || load == BaselineLoad::OLD_VERSION;
    ESP_LOGW(TAG, "Stored baseline refused: %s; learn a new one",
             baseline_refusal(load, "damaged (checksum, header or sizes)"));
    this->set_baseline_state_(foreign ? BaselineState::FOREIGN : BaselineState::CORRUPT);
    return;
  }
  this->score_with_(baseline);
  this->have_baseline_ = true;
#ifdef USE_BINMOE_ORDERS
  this->load_baseline_speeds_(blob_checksum(blob.bytes, used));
#endif
  ESP_LOGI(TAG, "Stored baseline loaded: %u windows, threshold %u", static_cast<unsigned>(baseline.windows),
           static_cast<unsigned>(baseline.threshold));
  this->set_baseline_state_(BaselineState::READY);
}

bool BinMoEComponent::learn_baseline(uint32_t duration_ms) {
  if (this->learner_.learning()) {
    ESP_LOGW(TAG, "Baseline learning already running (%d%%): request for %u ms ignored",
             this->learner_.progress_percent(), static_cast<unsigned>(duration_ms));
    return false;
  }
  // Windows of signal, not wall-clock time: a hop is hop_samples of the stream (rounded up).
  const uint64_t per_window = uint64_t{static_cast<uint32_t>(this->runner_.hop_samples())} * 1000u;
  const uint64_t windows =
      (uint64_t{duration_ms} * static_cast<uint32_t>(this->runner_.sample_rate()) + per_window - 1) / per_window;
  if (windows > UINT32_MAX ||
      !this->learner_.start(this->runner_.feature_bands(), static_cast<uint32_t>(windows), this->feature_digest_,
                            BaselinePersistence{this->anomaly_enter_windows_, this->anomaly_exit_windows_})) {
    ESP_LOGW(TAG, "Baseline request for %u ms refused: it must cover at least 4 windows (%d ms each)",
             static_cast<unsigned>(duration_ms),
             this->runner_.hop_samples() * 1000 / static_cast<int>(this->runner_.sample_rate()));  // hop <= a window
    return false;
  }
  ESP_LOGI(TAG, "Learning a baseline from the next %u windows", static_cast<unsigned>(windows));
#ifdef USE_BINMOE_ORDERS
  this->learning_rpm_low_ = this->learning_rpm_high_ = 0.0f;
#endif
  this->set_baseline_state_(BaselineState::LEARNING);
  return true;
}

void BinMoEComponent::baseline_window_() {
  baseline_signature(this->runner_.features(), this->runner_.feature_frames(), this->runner_.feature_bands(),
                     this->signature_);
  if (this->have_baseline_) {  // the baseline in force scores while a new one is learnt
    bool started;
    this->anomaly_score_ = this->detector_.push(this->signature_, &started);
    this->have_score_ = true;
    ESP_LOGD(TAG, "Anomaly score %u (threshold %u)%s", static_cast<unsigned>(this->anomaly_score_),
             static_cast<unsigned>(this->detector_.baseline().threshold), started ? ": anomaly starts" : "");
    this->messages_.set_anomaly(true, this->anomaly_score_, this->detector_.baseline().threshold);
    this->escalate_anomaly_(started);
#ifdef USE_BINARY_SENSOR
    if (this->anomaly_binary_sensor_ != nullptr)
      this->anomaly_binary_sensor_->publish_state(this->detector_.active());  // publishes changes only
#endif
  }
  if (!this->learner_.learning())
    return;
#ifdef USE_BINMOE_ORDERS
  this->learn_speed_();
#endif
  this->learner_.push(this->signature_);
  if (!this->learner_.done())
    return;
  Baseline baseline;
  this->learner_.result(&baseline);
  this->install_baseline_(baseline, true);
}

void BinMoEComponent::escalate_anomaly_(bool started) {
#ifdef USE_BINMOE_ORDERS
  if (started && this->anomaly_wait_ == 0) {
    this->anomaly_wait_ = this->capture_delay_windows_ + 1;
    if (this->capture_delay_windows_ > 0)
      ESP_LOGD(TAG, "Anomaly escalation in %u windows, with a capture from after the start",
               static_cast<unsigned>(this->capture_delay_windows_));
  }
  if (this->anomaly_wait_ == 0 || --this->anomaly_wait_ > 0)
    return;
#else
  if (!started)
    return;
#endif
  this->router_.force_next(Reason::ANOMALY);  // this window is escalated: the hub asks the GPU tier
}

void BinMoEComponent::score_with_(const Baseline &baseline) {
  this->detector_.set_baseline(baseline);
  this->detector_.set_persistence(BaselinePersistence{this->anomaly_enter_windows_, this->anomaly_exit_windows_});
}

void BinMoEComponent::install_baseline_(const Baseline &baseline, bool learnt) {
  BaselineBlob blob{};
  const size_t used = baseline.to_bytes(blob.bytes);
  BaselineChunk first, second;
  for (size_t i = 0; i < BASELINE_CHUNK_BYTES; i++) {
    first.bytes[i] = blob.bytes[i];
    second.bytes[i] = blob.bytes[BASELINE_CHUNK_BYTES + i];
  }
#ifdef USE_BINMOE_ORDERS
  // a learnt baseline keeps the speeds it saw; a set one (learnt elsewhere) has none
  this->baseline_rpm_low_ = learnt ? this->learning_rpm_low_ : 0.0f;
  this->baseline_rpm_high_ = learnt ? this->learning_rpm_high_ : 0.0f;
  BaselineSpeeds speeds{blob_checksum(blob.bytes, used), this->baseline_rpm_low_, this->baseline_rpm_high_};
  const bool speeds_saved = this->baseline_speeds_pref_.save(&speeds);
#else
  (void)used;
  const bool speeds_saved = true;
#endif
  // one sync for both halves; a reset between their writes leaves a blob whose checksum fails (CORRUPT)
  const bool saved = this->baseline_pref_.save(&first) && this->baseline_pref2_.save(&second) && speeds_saved &&
                     global_preferences->sync();
  this->score_with_(baseline);  // replaces the one in force in one step
  this->have_baseline_ = true;
#ifdef USE_BINARY_SENSOR
  if (this->anomaly_binary_sensor_ != nullptr)
    this->anomaly_binary_sensor_->publish_state(false);
#endif
  ESP_LOGI(TAG, "Baseline %s: %u windows, threshold %u%s", learnt ? "learnt" : "set",
           static_cast<unsigned>(baseline.windows), static_cast<unsigned>(baseline.threshold),
           saved ? "" : " (could not be stored: lost at reboot)");
#ifdef USE_BINMOE_ORDERS
  if (this->baseline_rpm_high_ > 0.0f)
    ESP_LOGI(TAG, "Baseline shaft speeds %.1f-%.1f rpm", this->baseline_rpm_low_, this->baseline_rpm_high_);
#endif
  this->set_baseline_state_(BaselineState::READY);
}

bool BinMoEComponent::set_baseline(const std::string &encoded) {
  if (this->learner_.learning()) {
    ESP_LOGW(TAG, "Baseline not set: learning is running (%d%%)", this->learner_.progress_percent());
    return false;
  }
  // one byte more than the largest blob: a longer one is not cut to a size that could pass
  uint8_t bytes[MAX_BASELINE_BLOB + 1];
  const size_t len = base64_decode(encoded, bytes, sizeof(bytes));
  Baseline baseline;
  const BaselineLoad load = len > MAX_BASELINE_BLOB ? BaselineLoad::CORRUPT
                                                    : baseline_from_bytes(bytes, len, this->feature_digest_, &baseline);
  if (load != BaselineLoad::OK) {
    ESP_LOGW(TAG, "Baseline not set: %s; the one in force (if any) is kept",
             baseline_refusal(load, "not a baseline of this format (base64, checksum, header or sizes)"));
    return false;
  }
  this->install_baseline_(baseline, false);
  return true;
}
#endif

#ifdef USE_BINMOE_ORDERS
void BinMoEComponent::record_capture_(const int16_t *samples, int count) {
  if (this->capture_text_ == nullptr)
    return;
  if (this->capture_adpcm_) {
    this->adpcm_.write(samples, count);
    return;
  }
  for (int i = 0; i < count; i++) {
    this->capture_[this->capture_pos_] = samples[i];
    if (++this->capture_pos_ == this->capture_samples_)
      this->capture_pos_ = 0;
  }
  const uint32_t filled = this->capture_filled_ + static_cast<uint32_t>(count);
  this->capture_filled_ = filled < this->capture_samples_ ? filled : this->capture_samples_;
}

#ifdef USE_BINMOE_BASELINE
void BinMoEComponent::learn_speed_() {
  const float rpm = this->shaft_rpm_();
  if (!shaft_rpm_usable_(rpm))
    return;
  if (this->learning_rpm_high_ == 0.0f || rpm < this->learning_rpm_low_)
    this->learning_rpm_low_ = rpm;
  if (rpm > this->learning_rpm_high_)
    this->learning_rpm_high_ = rpm;
}

void BinMoEComponent::load_baseline_speeds_(uint32_t checksum) {
  BaselineSpeeds speeds;
  const bool ours = this->baseline_speeds_pref_.load(&speeds) && speeds.checksum == checksum &&
                    shaft_rpm_usable_(speeds.low) && shaft_rpm_usable_(speeds.high) && speeds.low <= speeds.high;
  this->baseline_rpm_low_ = ours ? speeds.low : 0.0f;
  this->baseline_rpm_high_ = ours ? speeds.high : 0.0f;
}
#endif

float BinMoEComponent::shaft_rpm_() const {
  if (this->fixed_rpm_ > 0.0f)
    return this->fixed_rpm_;
#ifdef USE_SENSOR
  if (this->shaft_speed_sensor_ != nullptr && this->shaft_speed_sensor_->has_state())
    return this->shaft_speed_sensor_->state;
#endif
  return NAN;
}

void BinMoEComponent::attach_orders_(const Routed &routed) {
  if (this->bearing_ == nullptr || routed.outcome != Outcome::ESCALATION ||
      (routed.reason != Reason::ANOMALY && routed.reason != Reason::FORCED))
    return;
  const float rpm = this->shaft_rpm_();
  if (!shaft_rpm_usable_(rpm)) {  // also NaN: no reading yet, or the sensor failed
    ESP_LOGW(TAG, "Shaft speed unknown or outside %.0f-%.0f rpm (%.1f): escalation without fault identification",
             MIN_SHAFT_RPM, MAX_SHAFT_RPM, rpm);
    return;
  }
  snprintf(this->shaft_rpm_text_, sizeof(this->shaft_rpm_text_), "%.1f", rpm);
  this->message_.values[FIELD_SHAFT_RPM] = this->shaft_rpm_text_;
  this->message_.values[FIELD_BEARING] = this->bearing_;
#ifdef USE_BINMOE_BASELINE
  if (this->have_baseline_ && this->baseline_rpm_high_ > 0.0f) {
    snprintf(this->baseline_rpm_text_, sizeof(this->baseline_rpm_text_), "[%.1f,%.1f]", this->baseline_rpm_low_,
             this->baseline_rpm_high_);
    this->message_.values[FIELD_BASELINE_RPM] = this->baseline_rpm_text_;
  }
#endif
  if (this->capture_text_ == nullptr)
    return;
  if (this->capture_adpcm_) {
    if (this->adpcm_.complete() < this->adpcm_.blocks()) {
      ESP_LOGW(TAG, "Only %u of %u blocks captured since the stream started: escalation without a capture",
               static_cast<unsigned>(this->adpcm_.complete()), static_cast<unsigned>(this->adpcm_.blocks()));
      return;
    }
    // the complete blocks in time order behind the text's start, then encoded where they lie
    const size_t bytes = size_t{this->adpcm_.blocks()} * ADPCM_BLOCK_BYTES;
    this->adpcm_.copy_in_order(reinterpret_cast<uint8_t *>(this->capture_text_) + base64_in_place_offset(bytes));
    base64_in_place(this->capture_text_, bytes);
    this->message_.values[FIELD_CAPTURE_ENCODING] = "ima_adpcm";
  } else {
    if (this->capture_filled_ < this->capture_samples_) {
      ESP_LOGW(TAG, "Only %u of %u samples captured since the stream started: escalation without a capture",
               static_cast<unsigned>(this->capture_filled_), static_cast<unsigned>(this->capture_samples_));
      return;
    }
    // the ring in time order (oldest at capture_pos_) behind the text's start, then encoded where it lies
    const size_t bytes = size_t{this->capture_samples_} * 2, head = size_t{this->capture_pos_} * 2;
    uint8_t *data = reinterpret_cast<uint8_t *>(this->capture_text_) + base64_in_place_offset(bytes);
    const uint8_t *ring = reinterpret_cast<const uint8_t *>(this->capture_);  // little endian, as the protocol says
    memcpy(data, ring + head, bytes - head);
    memcpy(data + (bytes - head), ring, head);
    base64_in_place(this->capture_text_, bytes);
  }
  this->message_.values[FIELD_CAPTURE] = this->capture_text_;
  this->message_.values[FIELD_CAPTURE_RATE] = this->capture_rate_text_;
}
#endif

#ifdef USE_BINMOE_BASELINE
void BinMoEComponent::set_baseline_state_(BaselineState state) {
  this->baseline_state_ = state;
#ifdef USE_TEXT_SENSOR
  if (this->baseline_state_sensor_ != nullptr)
    this->baseline_state_sensor_->publish_state(baseline_state_name(state));
#endif
#ifdef USE_BINARY_SENSOR
  if (state == BaselineState::READY && this->anomaly_binary_sensor_ != nullptr && !this->have_score_)
    this->anomaly_binary_sensor_->publish_state(false);  // a loaded baseline: known, no anomaly yet
#endif
}
#endif

void BinMoEComponent::send_message_(const Routed &routed, const char *name) {
  const WindowResult &w = this->window_;
  const float level_db = w.level_dbfs + this->level_offset_db_;
#ifdef BINMOE_HA_EVENTS
  // with the outbox empty, a subscription of any age will do: the events' subscription came with it
  if (this->outbox_.capacity() > 0 && (!this->outbox_.empty() || !this->hub_listening_(0))) {
    // no hub can hear the node, or older messages wait: keep it, in order, for when one can
    this->messages_.queue(routed, w, level_db, millis(), this->outbox_);
    ESP_LOGD(TAG, "Queued message %u (no hub listening): %d in the outbox",
             static_cast<unsigned>(this->messages_.next_seq() - 1), this->outbox_.size());
    if (this->outbox_.dropped() != this->outbox_dropped_reported_) {
      ESP_LOGW(TAG, "Outbox full: %u messages dropped since boot", static_cast<unsigned>(this->outbox_.dropped()));
      this->outbox_dropped_reported_ = this->outbox_.dropped();
    }
    return;
  }
#endif
  this->messages_.build(routed, w, name, level_db, millis(), this->identity_, this->runner_.features(), this->message_);
#ifdef USE_BINMOE_ORDERS
  this->attach_orders_(routed);
#endif
#ifdef BINMOE_HA_EVENTS
  if (api::global_api_server == nullptr || !api::global_api_server->is_connected())
    return;  // no outbox configured: the hub counts the seq gap as lost messages
  this->send_event_(routed.outcome);
#endif
}

#ifdef BINMOE_HA_EVENTS
bool BinMoEComponent::hub_listening_(uint32_t for_ms) {
  if (api::global_api_server == nullptr || !api::global_api_server->is_connected_with_state_subscription()) {
    this->listening_since_ = 0;
    return false;
  }
  const uint32_t now = millis();
  if (this->listening_since_ == 0)
    this->listening_since_ = now | 1u;  // 0 means "not listening"
  return now - this->listening_since_ >= for_ms;
}

void BinMoEComponent::flush_outbox_() {
  for (int i = 0; i < OUTBOX_PER_LOOP && !this->outbox_.empty() && this->hub_listening_(OUTBOX_SETTLE_MS); i++) {
    const QueuedWindow &q = this->outbox_.front();
    const char *name = this->runner_.class_name(q.routed.reported_class(q.class_idx));
    this->messages_.build_queued(q, name, millis(), this->identity_, this->message_);
    ESP_LOGD(TAG, "Sending queued message %u (%s ms late)", static_cast<unsigned>(q.seq), this->message_.queued_ms);
    this->send_event_(q.routed.outcome);
    this->outbox_.pop();
  }
}

void BinMoEComponent::send_event_(Outcome outcome) {
  static constexpr char ESCALATION[] = "esphome.binmoe_escalation", DETECTION[] = "esphome.binmoe_detection";
  this->request_.service = outcome == Outcome::ESCALATION ? StringRef(ESCALATION, sizeof(ESCALATION) - 1)
                                                          : StringRef(DETECTION, sizeof(DETECTION) - 1);
  this->request_.data.clear();
  const char *key = KEY_NAMES;  // the names in field order, NUL separated: walked, no offset table needed here
  for (int i = 0; i < MAX_FIELDS; i++) {
    const size_t key_length = strlen(key);
    if (this->message_.values[i] != nullptr) {  // else an optional field this message does not have
      auto &kv = this->request_.data.emplace_back();
      kv.key = StringRef(key, key_length);
      kv.value = StringRef(this->message_.values[i]);
    }
    key += key_length + 1;
  }
  api::global_api_server->send_homeassistant_action(this->request_);
}
#endif

void BinMoEComponent::update() {
#ifdef USE_SENSOR
  if (this->router_.windows() > 0) {  // a window has been classified: last_confidence_ is set
    if (this->confidence_sensor_ != nullptr)
      this->confidence_sensor_->publish_state(this->last_confidence_ * 100.0f);
    if (this->inference_time_sensor_ != nullptr && this->inference_count_ > 0)  // whole microseconds, as shown
      this->inference_time_sensor_->publish_state(static_cast<float>(this->inference_us_sum_ / this->inference_count_));
    if (this->escalation_rate_sensor_ != nullptr)
      this->escalation_rate_sensor_->publish_state(this->router_.escalation_rate() * 100.0f);
  }
#ifdef USE_BINMOE_BASELINE
  if (this->anomaly_score_sensor_ != nullptr && this->have_score_)
    this->anomaly_score_sensor_->publish_state(static_cast<float>(this->anomaly_score_));
  if (this->baseline_progress_sensor_ != nullptr) {
    const int progress =
        this->learner_.learning() ? this->learner_.progress_percent() : (this->have_baseline_ ? 100 : 0);
    if (progress != this->progress_published_) {
      this->baseline_progress_sensor_->publish_state(static_cast<float>(progress));
      this->progress_published_ = progress;
    }
  }
#endif
#endif
#if defined(USE_BINMOE_ORDERS) && defined(USE_BINARY_SENSOR)
  if (this->shaft_speed_problem_sensor_ != nullptr)  // publishes changes only
    this->shaft_speed_problem_sensor_->publish_state(!shaft_rpm_usable_(this->shaft_rpm_()));
#endif
  this->inference_us_sum_ = 0;
  this->inference_count_ = 0;
}

void BinMoEComponent::dump_config() {
  const Runner &r = this->runner_;
  ESP_LOGCONFIG(TAG,
                "BinMoE: model %s (%s), %d Hz, window %d, hop %d\n"
                "  Interval %u ms, %u escalations/min, features %s",
                r.model_id(), r.model_hash8(), static_cast<int>(r.sample_rate()), r.window_samples(), r.hop_samples(),
                static_cast<unsigned>(this->router_config_.detection_interval_ms),
                static_cast<unsigned>(this->router_config_.max_escalations_per_minute),
                YESNO(this->messages_.send_features()));
#ifdef USE_BINMOE_BASELINE
  ESP_LOGCONFIG(TAG, "  Baseline: %s; an anomaly after %u windows above its threshold, ends after %u below 3/4",
                baseline_state_name(this->baseline_state_), this->anomaly_enter_windows_, this->anomaly_exit_windows_);
#endif
#ifdef USE_BINMOE_ORDERS
  ESP_LOGCONFIG(TAG,
                "  Fault identification: bearing %s, shaft speed %s, capture %u samples (%s)%s, anomalies escalated "
                "%u windows after they start",
                this->bearing_, this->fixed_rpm_ > 0.0f ? "fixed" : "from a sensor",
                static_cast<unsigned>(this->capture_samples_), this->capture_adpcm_ ? "ima_adpcm" : "s16le",
                this->capture_samples_ > 0 && this->capture_text_ == nullptr ? " (no memory)" : "",
                static_cast<unsigned>(this->capture_delay_windows_));
#endif
  for (int i = 0; i < r.classes(); i++) {
    const ClassRule &rule = this->router_.rule(i);
    ESP_LOGCONFIG(TAG, "  %s: margin %d%s", r.class_name(i), static_cast<int>(r.margin_threshold(i)),
                  rule.always_escalate ? ", escalates" : (rule.report ? "" : ", not reported"));
  }
#ifdef USE_BINMOE_ALARM_EVENTS
  const EventDetector &events = this->router_.events();
  for (int i = 0; i < events.rules(); i++) {
    ESP_LOGCONFIG(TAG, "  Alarm event: %s, %d of %d windows", r.class_name(events.class_idx(i)), events.need(i),
                  events.span(i));
  }
#endif
#ifdef USE_BINMOE_ALARM_CODE
  if (this->router_.code_events()) {
    ESP_LOGCONFIG(TAG, "  Alarm code: T3 -> %s, T4 -> %s", r.class_name(this->router_.code_class(1)),
                  r.class_name(this->router_.code_class(2)));
  }
#endif
#ifdef USE_BINMOE_ALARM_TONE
  ESP_LOGCONFIG(TAG, "  Alarm tone: %s, codes on %s", this->tone_detector_.t4() ? "T3 and T4" : "T3 only",
                this->tone_detector_.pitch_gate() ? "a smoke or CO sounder's pitch only" : "any pitch");
#endif
}

#if defined(USE_BINARY_SENSOR) && defined(USE_BINMOE_ALARM_EVENTS)
void BinMoEComponent::add_alarm_binary_sensor(const char *class_name, binary_sensor::BinarySensor *s) {
  if (this->alarm_sensor_count_ >= MAX_ALARM_SENSORS)
    return;
  int class_idx = -1;  // the model's classes are constants: known before setup()
  for (int c = 0; c < this->runner_.classes() && class_idx < 0; c++) {
    if (strcmp(this->runner_.class_name(c), class_name) == 0)
      class_idx = c;
  }
  this->alarm_sensors_[this->alarm_sensor_count_++] = AlarmSensor{s, class_idx};
}

void BinMoEComponent::publish_alarm_states_() {
  const EventDetector &events = this->router_.events();
  for (uint8_t i = 0; i < this->alarm_sensor_count_; i++) {
    const int rule = events.find(this->alarm_sensors_[i].class_idx);
    this->alarm_sensors_[i].sensor->publish_state(rule >= 0 && events.active(rule));  // publishes changes only
  }
}
#endif

}  // namespace esphome::binmoe
