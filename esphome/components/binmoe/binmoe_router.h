// Routing rules of a BinMoE node (docs/protocol.md, section 1): what happens to each classified window. Plain C++
// without ESPHome so it can be cross-compiled and measured on its own; no heap: every buffer is a member.
#pragma once
#include <stdint.h>

// In a node, ESPHome's generated defines.h says which optional parts its YAML uses (USE_BINMOE_ALARM_EVENTS: the
// model has alarm-event rules; USE_BINMOE_ALARM_CODE, USE_BINMOE_BASELINE: the messages' alarm_code and anomaly
// fields); the plain-C++ test harness has no ESPHome tree and builds them all.
#if __has_include("esphome/core/defines.h")
#include "esphome/core/defines.h"
#else
#define USE_BINMOE_ALARM_EVENTS
#define USE_BINMOE_ALARM_CODE
#define USE_BINMOE_BASELINE
#endif

#include "binmoe_events.h"
#include "binmoe_runner.h"

namespace esphome::binmoe {

static constexpr int HISTORY_WINDOWS = 128;  // the escalation-rate sensor averages over this many windows

enum class Outcome : uint8_t {
  NONE,        // an idle class (e.g. background), or a repeat within the detection interval
  DETECTION,   // confident, handled on the node
  ESCALATION,  // for the hub / GPU tier
  DROPPED,     // would have escalated, but the escalation rate limit was reached
};

// ANOMALY: the per-machine baseline's anomaly starts with this window (forced like FORCED, not rate limited)
enum class Reason : uint8_t { LOW_MARGIN, ESCALATE_CLASS, FORCED, ANOMALY };

struct ClassRule {
  bool report = true;            // send detections of this class (idle classes: false)
  bool always_escalate = false;  // never handle locally (reason escalate_class)
};

struct RouterConfig {
  uint32_t detection_interval_ms = 10000;   // same class reported again only after this much stream time
  uint32_t max_escalations_per_minute = 6;  // token bucket over stream time; 0 = never escalate
};

// One routed window: what happened and why.
struct Routed {
  Outcome outcome = Outcome::NONE;
  Reason reason = Reason::LOW_MARGIN;
  // an alarm event's report (its start or a repeat while it goes on): windows with the class among the
  // rule's last `event_span`; 0 = not an event report
  uint8_t event_windows = 0, event_span = 0;
  // with code events (set_code_classes): the class of an event recognised by its temporal code, which may
  // differ from the window's top class, and the code (1 = T3, 2 = T4); -1 / 0 = the window's own class
  int8_t code_class = -1;
  uint8_t code : 2 = 0;
  // whether one of the node's alarm events was going on when the window ended (the protocol's `alarm_active`):
  // -1 on a node without alarm-event rules (the field is left out), else 0 or 1. Two bit-fields in one byte: a
  // Routed is kept in every outbox slot, whose size would otherwise grow by 4 bytes with the padding
  int8_t alarm_active : 2 = -1;
  // The class a report of this window names: the code's, else the window's own top class.
  int reported_class(int window_class) const { return this->code_class >= 0 ? this->code_class : window_class; }
};

class Router {
 public:
  void configure(const RouterConfig &config, int classes);
  // per-class rules; configure() keeps them, so they may be set before it
  ClassRule &rule(int class_idx) { return this->rules_[class_idx]; }
  const ClassRule &rule(int class_idx) const { return this->rules_[class_idx]; }
  const RouterConfig &config() const { return this->config_; }
  // `confirm_windows: 2`: the class is detected only on its second window in a row (a bit per class: RAM)
  void set_confirm(int class_idx, bool confirm) {
    const uint16_t bit = static_cast<uint16_t>(1u << class_idx);
    this->confirm_ = confirm ? this->confirm_ | bit : this->confirm_ & static_cast<uint16_t>(~bit);
  }
  bool confirmed(int class_idx) const { return (this->confirm_ >> class_idx) & 1u; }

#ifdef USE_BINMOE_ALARM_EVENTS
  // Alarm-event rules (add_rule); a class with a rule is reported only as an event, never window by window.
  EventDetector &events() { return this->events_; }
  const EventDetector &events() const { return this->events_; }
#endif
  // Code events: the event rules count windows in which the class's temporal code completed (route()'s
  // `code_class`) instead of windows whose top class it is (binmoe_alarm_code.h); the classes T3 and T4 stand
  // for (-1, -1: off).
  void set_code_classes(int t3_class, int t4_class) {
    this->code_classes_[0] = static_cast<int8_t>(t3_class);
    this->code_classes_[1] = static_cast<int8_t>(t4_class);
    this->code_events_ = t3_class >= 0 || t4_class >= 0;
  }
  bool code_events() const { return this->code_events_; }
  // the class a code (1 = T3, 2 = T4) reports
  int code_class(int code) const { return this->code_classes_[code - 1]; }

  // Escalate the next window whatever its margin (reason `forced`, or `anomaly`; not rate limited).
  void force_next(Reason reason = Reason::FORCED) {
    this->force_next_ = true;
    this->force_reason_ = reason;
  }

  // Decide what to do with one classified window; `stream_ms` is the sample clock (samples / rate), so rules
  // behave the same whether samples come live or from a faster-than-real-time replay. It may wrap around
  // 2^32 ms (49.7 days): the rules only use differences of it.
  // `code_class`: with code events, the class whose code completed in this window's new frames, or -1.
  Routed route(const WindowResult &window, uint32_t stream_ms, int code_class = -1);
  // A new stream (e.g. a replayed clip): the event detector forgets the windows before it.
  void restart_stream() {
    this->previous_class_ = -1;
#ifdef USE_BINMOE_ALARM_EVENTS
    this->events_.reset();
#endif
  }

  // Fraction of the last HISTORY_WINDOWS windows whose decision was to escalate (incl. dropped ones).
  float escalation_rate() const;
  uint32_t windows() const { return this->windows_; }
  uint32_t detections() const { return this->detections_; }
  uint32_t escalations() const { return this->escalations_; }
  uint32_t dropped() const { return this->dropped_; }

 protected:
  static constexpr uint32_t TOKEN = 60000;  // escalation bucket units per token (ms per minute)
  // the class was never reported, or its detection interval has passed since its last report
  bool due_(int class_idx, uint32_t stream_ms) const;
  // A report of the class (with its event rule's fields, -1: none): detection time, counters and outcome.
  Routed report_(Routed out, int class_idx, int event_rule, bool escalate, uint32_t stream_ms);

  RouterConfig config_;
  ClassRule rules_[MAX_CLASSES];
  int classes_{0};
  uint32_t last_detection_ms_[MAX_CLASSES] = {};
  bool detected_once_[MAX_CLASSES] = {};
  uint32_t tokens_{0};
  uint32_t bucket_ms_{0};
  bool bucket_started_{false};
  bool force_next_{false};
  bool code_events_{false};
  int8_t code_classes_[2] = {-1, -1};
  int8_t previous_class_{-1};  // the last window's top class (confirm_windows)
  uint16_t confirm_{0};        // classes detected only on their second window in a row
  Reason force_reason_{Reason::FORCED};
  uint8_t history_[HISTORY_WINDOWS / 8] = {};
  uint32_t history_count_{0};  // escalations among the windows in history_
  uint32_t windows_{0}, detections_{0}, escalations_{0}, dropped_{0};
#ifdef USE_BINMOE_ALARM_EVENTS
  EventDetector events_;  // last: the members above stay within a compressed load's reach
#endif
};

}  // namespace esphome::binmoe
