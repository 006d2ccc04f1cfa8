#pragma once
// The `binmoe` ESPHome component: samples in (microphone, accelerometer, ADC or a host-only replay), windows
// classified by the node's binarized model, confident detections handled on the node and the rest escalated
// to Home Assistant (docs/protocol.md). Everything the hot path needs is allocated in setup().
#include <atomic>
#include <string>

#include "esphome/core/component.h"
#include "esphome/core/defines.h"
#include "esphome/core/helpers.h"

#include "esphome/core/preferences.h"

#ifdef USE_BINMOE_ORDERS
#include "binmoe_adpcm.h"
#endif
#include "binmoe_alarm_code.h"
#include "binmoe_alarm_tone.h"
#ifdef USE_BINMOE_BASELINE
#include "binmoe_baseline.h"
#endif
#include "binmoe_message.h"
#include "binmoe_router.h"
#include "binmoe_runner.h"

#ifdef USE_SENSOR
#include "esphome/components/sensor/sensor.h"
#endif
#ifdef USE_TEXT_SENSOR
#include "esphome/components/text_sensor/text_sensor.h"
#endif
#ifdef USE_BINARY_SENSOR
#include "esphome/components/binary_sensor/binary_sensor.h"
#endif
#ifdef USE_EVENT
#include "esphome/components/event/event.h"
#endif
#if defined(USE_API) && defined(USE_API_HOMEASSISTANT_SERVICES)
#include "esphome/components/api/api_pb2.h"
#define BINMOE_HA_EVENTS
#endif
#ifdef USE_BINMOE_MICROPHONE
#include "esphome/components/microphone/microphone_source.h"
#endif

namespace esphome::binmoe {

// Single-producer single-consumer ring of int16 samples: a microphone delivers from its own task, loop()
// consumes. Power-of-two capacity; on overflow the newest samples are dropped and counted.
template<int N> class SampleRing {
  static_assert((N & (N - 1)) == 0, "ring capacity must be a power of two");

 public:
  int write(const int16_t *samples, int count) {
    const uint32_t head = this->head_.load(std::memory_order_relaxed),
                   tail = this->tail_.load(std::memory_order_acquire);
    int space = N - static_cast<int>(head - tail);
    const int n = count < space ? count : space;
    for (int i = 0; i < n; i++)
      this->buf_[(head + i) & (N - 1)] = samples[i];
    this->head_.store(head + n, std::memory_order_release);
    if (n < count)
      this->overruns_.fetch_add(count - n, std::memory_order_relaxed);
    return n;
  }
  // Contiguous readable samples (up to the end of the buffer).
  int peek(const int16_t **out) const {
    const uint32_t tail = this->tail_.load(std::memory_order_relaxed),
                   head = this->head_.load(std::memory_order_acquire);
    const int available = static_cast<int>(head - tail), to_end = N - static_cast<int>(tail & (N - 1));
    *out = this->buf_ + (tail & (N - 1));
    return available < to_end ? available : to_end;
  }
  void consume(int count) {
    this->tail_.store(this->tail_.load(std::memory_order_relaxed) + count, std::memory_order_release);
  }
  int available() const { return static_cast<int>(this->head_.load(std::memory_order_acquire) - this->tail_.load()); }
  uint32_t overruns() const { return this->overruns_.load(std::memory_order_relaxed); }

 protected:
  std::atomic<uint32_t> head_{0}, tail_{0}, overruns_{0};  // before the buffer: near the owner's other members
  int16_t buf_[N];
};

static constexpr int RING_SAMPLES = 2048;
#ifdef USE_BINMOE_ORDERS
// Fault identification in shaft orders (docs/vibration-baseline.md): the speeds the GPU tier's analysis takes.
static constexpr float MIN_SHAFT_RPM = 60.0f, MAX_SHAFT_RPM = 60000.0f;
#endif
static constexpr int MAX_WINDOWS_PER_LOOP = 2;  // keeps loop() short when a replay runs faster than real time
// Store and forward: a client's state subscription must have lasted this long before the outbox is sent (Home
// Assistant subscribes to states and to events in one request; ESPHome drops events sent before the latter;
// the margin covers a client that sends them apart), and at most this many queued messages go per loop().
static constexpr uint32_t OUTBOX_SETTLE_MS = 250;
static constexpr int OUTBOX_PER_LOOP = 2;

class ClassTrigger;

#ifdef USE_BINMOE_BASELINE
// Where the per-machine baseline stands (docs/vibration-baseline.md); CORRUPT and FOREIGN: a stored baseline
// was refused at boot, so there is none in force.
enum class BaselineState : uint8_t { NONE, LEARNING, READY, CORRUPT, FOREIGN };
const char *baseline_state_name(BaselineState state);

// The stored form in ESPHome's preferences: fixed size (a preference's length is part of its identity), the
// blob's own header says how much of it is used. Stored as two preferences of half the blob each: ESPHome's
// host preferences keep a record's length in one byte (at most 255), and the blob has 396 bytes.
static constexpr size_t BASELINE_CHUNK_BYTES = (MAX_BASELINE_BLOB + 1) / 2;
struct BaselineBlob {
  uint8_t bytes[2 * BASELINE_CHUNK_BYTES];
};
struct BaselineChunk {
  uint8_t bytes[BASELINE_CHUNK_BYTES];
};
// The same preference as stored by format version 1, read only to say why it is refused.
struct BaselineBlobV1 {
  uint8_t bytes[BASELINE_V1_BLOB];
};
#ifdef USE_BINMOE_ORDERS
// The shaft speeds a learnt baseline saw (a preference of its own, beside the blob): anomaly escalations carry
// them (`baseline_rpm`), so the GPU tier can tell an anomaly at a speed the baseline never saw from a fault.
// `checksum` is the blob's own: a range stored with another baseline is not this one's.
struct BaselineSpeeds {
  uint32_t checksum;
  float low, high;  // rpm
};
#endif
#endif

class BinMoEComponent : public PollingComponent {
 public:
  void setup() override;
  void loop() override;
  void update() override;
  void dump_config() override;
  float get_setup_priority() const override { return setup_priority::AFTER_CONNECTION; }

  // configuration (from codegen)
  void set_task(const char *task) { this->identity_.task = task; }
  void set_router_config(uint32_t detection_interval_ms, uint32_t max_escalations_per_minute) {
    this->router_config_.detection_interval_ms = detection_interval_ms;
    this->router_config_.max_escalations_per_minute = max_escalations_per_minute;
  }
  void set_send_features(bool send_features) { this->messages_.set_send_features(send_features); }
  void set_class_rule(int idx, bool report, bool always_escalate, bool confirm = false) {
    if (idx >= 0 && idx < MAX_CLASSES) {
      this->router_.rule(idx) = ClassRule{report, always_escalate};
      this->router_.set_confirm(idx, confirm);
    }
  }
  void set_margin_threshold(int idx, int32_t value) { this->runner_.set_margin_threshold(idx, value); }
  // an alarm-event rule: the class is reported as an event of `need` of the last `span` windows
#ifdef USE_BINMOE_ALARM_EVENTS
  void add_event_rule(int idx, int need, int span) { this->router_.events().add_rule(idx, need, span); }
#endif
  // alarm events from the temporal-code detector: T3 reports `t3_class`, T4 `t4_class` (docs/esphome.md)
  void set_alarm_code(int t3_class, int t4_class) { this->router_.set_code_classes(t3_class, t4_class); }
#ifdef USE_BINMOE_ALARM_TONE
  // `co_tone`: whether the tone detector hears CO's T4 too (on by default)
  void set_co_tone(bool on) { this->tone_detector_.set_t4(on); }
  // `alarm_pitch`: whether the tone detector's codes count only on a smoke or CO sounder's pitch (on by default)
  void set_alarm_pitch(bool on) { this->tone_detector_.set_pitch_gate(on); }
#endif
  // level_db = dBFS of the int16 stream + this offset (e.g. 20 log10(full-scale g) for an accelerometer)
  void set_level_offset_db(float offset) { this->level_offset_db_ = offset; }
#ifdef USE_BINMOE_TRIGGERS
  // on_detection / on_escalation (compiled in where the node has them)
  void add_detection_trigger(ClassTrigger *trigger) { this->detection_triggers_.push_back(trigger); }
  void add_escalation_trigger(ClassTrigger *trigger) { this->escalation_triggers_.push_back(trigger); }
#endif
#ifdef USE_SENSOR
  void set_confidence_sensor(sensor::Sensor *s) { this->confidence_sensor_ = s; }
  void set_inference_time_sensor(sensor::Sensor *s) { this->inference_time_sensor_ = s; }
  void set_escalation_rate_sensor(sensor::Sensor *s) { this->escalation_rate_sensor_ = s; }
#endif
#ifdef USE_TEXT_SENSOR
  void set_model_sensor(text_sensor::TextSensor *s) { this->model_sensor_ = s; }
#endif
#ifdef USE_EVENT
  void set_detection_event(event::Event *e) { this->detection_event_ = e; }
#endif
  // The first 8 bytes of the model's feature digest (big endian): a stored baseline learnt with other features
  // is refused.
  // The anomaly's hysteresis in windows at the node's hop (codegen: anomaly_start_after / anomaly_end_after). It
  // applies to every baseline in force, learnt, stored or set; a learnt one is stored with it.
  void set_anomaly_persistence(uint8_t enter_windows, uint8_t exit_windows) {
    this->anomaly_enter_windows_ = enter_windows;
    this->anomaly_exit_windows_ = exit_windows;
  }
  void set_feature_digest(uint64_t digest) {
    for (int i = 0; i < 8; i++)
      this->feature_digest_[i] = static_cast<uint8_t>(digest >> (56 - 8 * i));
  }
#ifdef USE_BINMOE_BASELINE
  // The per-machine baseline: compiled in where the node configures a way to learn or show it
  // (binmoe.learn_baseline, or a baseline entity; codegen defines USE_BINMOE_BASELINE).
#ifdef USE_TEXT_SENSOR
  void set_baseline_state_sensor(text_sensor::TextSensor *s) { this->baseline_state_sensor_ = s; }
#endif
#ifdef USE_SENSOR
  void set_anomaly_score_sensor(sensor::Sensor *s) { this->anomaly_score_sensor_ = s; }
  void set_baseline_progress_sensor(sensor::Sensor *s) { this->baseline_progress_sensor_ = s; }
#endif
#ifdef USE_BINARY_SENSOR
  void set_anomaly_binary_sensor(binary_sensor::BinarySensor *s) { this->anomaly_binary_sensor_ = s; }
#endif
#endif
#if defined(USE_BINARY_SENSOR) && defined(USE_BINMOE_ALARM_EVENTS)
  // On from an alarm event of the class (named by the model) until the alarm is over, its event rule's span
  // without the class or its code (docs/esphome.md, "Alarm events"); codegen checks that the class has a rule.
  void add_alarm_binary_sensor(const char *class_name, binary_sensor::BinarySensor *s);
#endif
#ifdef USE_BINMOE_ORDERS
  // Fault identification in shaft orders (compiled in where `bearing` is set): escalations with reason anomaly
  // or forced carry the shaft speed (`fixed_rpm`, or the speed sensor's state), the bearing (`bearing`: the
  // protocol's JSON array of balls, ball and pitch diameter in mm, contact angle) and the last `capture_samples`
  // samples of the stream (base64): int16, or with `adpcm` the complete IMA ADPCM blocks that hold them. An
  // anomaly's escalation goes `capture_delay_windows` windows after the one that raised it (`capture_delay`), so
  // that its capture holds the signal from after the anomaly started.
  void set_fault_identification(float fixed_rpm, const char *bearing, uint32_t capture_samples, bool adpcm,
                                uint32_t capture_delay_windows) {
    this->fixed_rpm_ = fixed_rpm;
    this->bearing_ = bearing;
    this->capture_samples_ = capture_samples;
    this->capture_adpcm_ = adpcm;
    this->capture_delay_windows_ = capture_delay_windows;
  }
#ifdef USE_SENSOR
  void set_shaft_speed_sensor(sensor::Sensor *s) { this->shaft_speed_sensor_ = s; }
#endif
#ifdef USE_BINARY_SENSOR
  // On while the shaft speed is unknown (no reading yet, or the sensor failed) or outside 60-60000 rpm: anomaly
  // and forced escalations then go without fault identification.
  void set_shaft_speed_problem_binary_sensor(binary_sensor::BinarySensor *s) { this->shaft_speed_problem_sensor_ = s; }
#endif
#endif
#ifdef USE_BINMOE_MICROPHONE
  void set_microphone_source(microphone::MicrophoneSource *source) { this->microphone_source_ = source; }
#endif

  // Feed samples from a source that runs in loop() (accelerometer FIFO, ADC driver, replay).
  int feed(const int16_t *samples, int count) { return this->ring_.write(samples, count); }
  int free_space() const { return RING_SAMPLES - this->ring_.available(); }
  // Escalate the next window whatever its margin (protocol reason `forced`).
  void force_escalation() { this->router_.force_next(); }
  const Runner &runner() const { return this->runner_; }
  const Router &router() const { return this->router_; }

#ifdef USE_BINMOE_BASELINE
  // Learn a new baseline from the windows of the next `duration_ms` of signal (the one in force, if any, keeps
  // scoring until the new one replaces it). False, with a log line, while learning or for too short a duration.
  bool learn_baseline(uint32_t duration_ms);
  // Put a baseline learnt elsewhere in force and store it: `encoded` is base64 of the stored form (what
  // `python -m node_factory baseline --save` writes). False, with a log line and the baseline in force kept,
  // while learning or for a damaged, foreign or older-format one.
  bool set_baseline(const std::string &encoded);
  BaselineState baseline_state() const { return this->baseline_state_; }
#endif

#ifdef USE_BINMOE_REPLAY
  // The stream stops (a replayed clip ended): once its last samples are classified, no alarm sounds any more.
  void end_stream() { this->stream_ended_ = true; }
#endif
  // A new stream starts (e.g. a replayed clip): drop buffered samples and the partial window.
  void restart_stream() {
#ifdef USE_BINMOE_REPLAY
    this->stream_ended_ = false;
#endif
    this->ring_.consume(this->ring_.available());
#ifdef USE_BINMOE_ORDERS
    this->capture_filled_ = 0;  // a capture never mixes two streams
    this->adpcm_.reset();
#endif
    this->runner_.reset();
    this->router_.restart_stream();
#ifdef USE_BINMOE_ALARM_CODE
    this->code_detector_.reset();
    this->code_found_ = AlarmCodeDetector::NONE;
#endif
#ifdef USE_BINMOE_ALARM_TONE
    this->tone_detector_.reset();
    this->tone_code_ = AlarmToneDetector::NONE;
#endif
  }

 protected:
  void handle_window_();
  // The protocol message of the last classified window (window_), reporting class `name`, as a Home Assistant
  // event; kept in the outbox instead while no hub can hear the node or older messages wait there.
  void send_message_(const Routed &routed, const char *name);
#ifdef BINMOE_HA_EVENTS
  // Sends message_ as a Home Assistant event of the outcome's type.
  void send_event_(Outcome outcome);
  // A hub can hear the node: a native-API client has subscribed to its states, at least `for_ms` ago.
  bool hub_listening_(uint32_t for_ms);
  // Sends up to OUTBOX_PER_LOOP queued messages, oldest first, while a hub can hear the node.
  void flush_outbox_();
#endif
#ifdef USE_BINMOE_BASELINE
  void load_baseline_();
  // Learning and scoring of the last classified window (window_).
  void baseline_window_();
  // Escalates an anomaly (reason anomaly): with the window that raised it (`started`), or with capture_delay the
  // window capture_delay_windows_ later. One escalation per wait: an anomaly that starts again meanwhile is in it.
  void escalate_anomaly_(bool started);
  void set_baseline_state_(BaselineState state);
  // Puts `baseline` in force, stores it in the preferences and says so (learnt on the node, or set) in the log
  // and the baseline state; a learnt one keeps the shaft speeds seen while learning.
  void install_baseline_(const Baseline &baseline, bool learnt);
  // Puts `baseline` in force with the node's hysteresis (whatever counts it was stored with).
  void score_with_(const Baseline &baseline);
#ifdef USE_BINMOE_ORDERS
  // While learning: widen the learnt speed range by the shaft speed now (when it is usable).
  void learn_speed_();
  // The stored speed range of the baseline whose blob ends with `checksum` (none: 0-0).
  void load_baseline_speeds_(uint32_t checksum);
#endif
#endif
#ifdef USE_BINMOE_ORDERS
  // Keep the last capture_samples_ samples the runner consumed (a ring; nothing when not configured).
  void record_capture_(const int16_t *samples, int count);
  // The shaft speed now, in rpm: the fixed one, else the sensor's state (NaN when unknown).
  float shaft_rpm_() const;
  // Whether that speed can be used: known and inside MIN_SHAFT_RPM-MAX_SHAFT_RPM.
  static bool shaft_rpm_usable_(float rpm) { return rpm >= MIN_SHAFT_RPM && rpm <= MAX_SHAFT_RPM; }  // NaN: false
  // The fault-identification fields of an anomaly or forced escalation (message_ is built).
  void attach_orders_(const Routed &routed);
#endif
#ifdef USE_BINMOE_ALARM_CODE
  // The class whose code completed in the frames the last classified window added, or -1 (and a new window starts).
  int alarm_code_window_();
  // The runner's frame hook: feeds the tone detector (`alarm_tone`) and then the code detector every frame, with
  // the bands the tone detector follows a tone in; notes the first code each completes in the window under way.
  static void alarm_frame_(void *self, const int8_t *features, const int32_t *re, const int32_t *im);
#endif

  // Small members first: RISC-V loads reach 2 KB from `this` in one instruction, so the buffers go last.
  Runner runner_;
  Router router_;
  RouterConfig router_config_;
  MessageBuilder messages_;
  NodeIdentity identity_;
  // the sample clock: milliseconds of signal consumed (wraps after 49.7 days) and the samples x 1000 not yet
  // a whole millisecond, so it stays exact in 32 bits
  uint32_t stream_ms_{0}, stream_rem_{0};
  float level_offset_db_{0.0f};
  float last_confidence_{0.0f};  // of the last classified window
  uint32_t inference_us_sum_{0}, inference_count_{0}, overruns_reported_{0};
  uint8_t feature_digest_[8]{};  // of the model's features (a stored baseline must match it)
#ifdef USE_BINMOE_ALARM_CODE
  uint8_t code_found_{AlarmCodeDetector::NONE};  // the first code the band detector completed in the window under way
#endif
#ifdef USE_BINMOE_ALARM_TONE
  uint8_t tone_code_{AlarmToneDetector::NONE};  // the first code the tone detector completed in the window under way
#endif
#ifdef USE_BINMOE_BASELINE
  uint32_t anomaly_score_{0};  // of the last window scored against the baseline
  BaselineState baseline_state_{BaselineState::NONE};
  bool have_baseline_{false}, have_score_{false};
  int progress_published_{-1};
  ESPPreferenceObject baseline_pref_, baseline_pref2_;  // the blob's first and second half
#endif
#ifdef USE_BINMOE_ORDERS
  // fault identification in shaft orders: the capture ring (int16, or IMA ADPCM blocks in `adpcm_`) and the
  // text it is sent as (base64 of its samples or blocks in order, encoded in place), allocated in setup() when
  // configured
  const char *bearing_{nullptr};
  float fixed_rpm_{0.0f};
  int16_t *capture_{nullptr};
  char *capture_text_{nullptr};
  uint32_t capture_samples_{0}, capture_pos_{0}, capture_filled_{0};
  // capture_delay in windows, and the windows until the waiting anomaly escalation goes (0: none waits)
  uint32_t capture_delay_windows_{0}, anomaly_wait_{0};
#ifdef USE_BINMOE_BASELINE
  // the shaft speeds (rpm) seen while learning, and those of the baseline in force (0-0: not known) and their
  // protocol text
  float learning_rpm_low_{0.0f}, learning_rpm_high_{0.0f}, baseline_rpm_low_{0.0f}, baseline_rpm_high_{0.0f};
  char baseline_rpm_text_[24]{};
  ESPPreferenceObject baseline_speeds_pref_;
#endif
  bool capture_adpcm_{false};
  AdpcmCapture adpcm_;
  char shaft_rpm_text_[12]{}, capture_rate_text_[12]{};
#ifdef USE_BINARY_SENSOR
  binary_sensor::BinarySensor *shaft_speed_problem_sensor_{nullptr};
#endif
#endif
#ifdef USE_BINMOE_ALARM_CODE
  AlarmCodeDetector code_detector_;  // ~1.9 KB: only in nodes that listen for the alarms' codes
#endif
#ifdef USE_BINMOE_ALARM_TONE
  AlarmToneDetector tone_detector_;  // 1,404 B: only with `alarm_tone` (on by default)
#endif
#ifdef USE_BINMOE_TRIGGERS
  std::vector<ClassTrigger *> detection_triggers_;
  std::vector<ClassTrigger *> escalation_triggers_;
#endif
#ifdef USE_SENSOR
  sensor::Sensor *confidence_sensor_{nullptr}, *inference_time_sensor_{nullptr}, *escalation_rate_sensor_{nullptr};
#ifdef USE_BINMOE_ORDERS
  sensor::Sensor *shaft_speed_sensor_{nullptr};
#endif
#ifdef USE_BINMOE_BASELINE
  sensor::Sensor *anomaly_score_sensor_{nullptr}, *baseline_progress_sensor_{nullptr};
#endif
#endif
#ifdef USE_TEXT_SENSOR
  text_sensor::TextSensor *model_sensor_{nullptr};
#ifdef USE_BINMOE_BASELINE
  text_sensor::TextSensor *baseline_state_sensor_{nullptr};
#endif
#endif
#if defined(USE_BINARY_SENSOR) && defined(USE_BINMOE_BASELINE)
  binary_sensor::BinarySensor *anomaly_binary_sensor_{nullptr};
#endif
#if defined(USE_BINARY_SENSOR) && defined(USE_BINMOE_ALARM_EVENTS)
  static constexpr uint8_t MAX_ALARM_SENSORS = 2;  // smoke and CO
  struct AlarmSensor {
    binary_sensor::BinarySensor *sensor;
    int class_idx;  // the model's; -1: none (codegen refuses that)
  };
  void publish_alarm_states_();
  AlarmSensor alarm_sensors_[MAX_ALARM_SENSORS]{};
  uint8_t alarm_sensor_count_{0};
#endif
#ifdef USE_BINMOE_REPLAY
  bool stream_ended_{false};
#endif
#ifdef USE_EVENT
  event::Event *detection_event_{nullptr};
#endif
#ifdef BINMOE_HA_EVENTS
  api::HomeassistantActionRequest request_;
  Outbox outbox_;
  uint32_t listening_since_{0};  // millis() | 1 when the state subscription was first seen; 0: none
  uint32_t outbox_dropped_reported_{0};
#endif
#ifdef USE_BINMOE_MICROPHONE
  microphone::MicrophoneSource *microphone_source_{nullptr};
#endif
  WindowResult window_{};
#ifdef USE_BINMOE_BASELINE
  int32_t signature_[MAX_BASELINE_BANDS];
  BaselineLearner learner_;
  AnomalyDetector detector_;
#endif
  // the anomaly's hysteresis in windows at the hop (set_anomaly_persistence; used where the baseline is compiled in)
  uint8_t anomaly_enter_windows_{3}, anomaly_exit_windows_{6};
  SampleRing<RING_SAMPLES> ring_;
  Message message_;
#if defined(BINMOE_HA_EVENTS) && defined(BINMOE_OUTBOX_SIZE)
  // slots of queued_slot_bytes(classes): 36 bytes + 4 per class (docs/esphome.md, "Store and forward")
  alignas(4) uint8_t outbox_arena_[BINMOE_OUTBOX_SIZE * queued_slot_bytes(BINMOE_OUTBOX_CLASSES)];
#endif
};

}  // namespace esphome::binmoe
