#include "binmoe_router.h"

namespace esphome::binmoe {

void Router::configure(const RouterConfig &config, int classes) {
  this->config_ = config;
  this->classes_ = classes < MAX_CLASSES ? classes : MAX_CLASSES;
  this->tokens_ = this->config_.max_escalations_per_minute * TOKEN;
  this->bucket_started_ = false;
}

Routed Router::route(const WindowResult &window, uint32_t stream_ms, int code_class) {
  Routed out;
  const int c = window.class_idx;
  // a class confirmed by a second window is held back on the first window of it in a row
  const bool held = c >= 0 && c < this->classes_ && this->confirmed(c) && this->previous_class_ != c;
  this->previous_class_ = static_cast<int8_t>(c);
  // refill the escalation bucket: max_per_minute tokens per minute (exact: one token = TOKEN units, and
  // one ms adds max_per_minute units), capped at max_per_minute tokens. A minute refills it completely, so
  // longer gaps count as one minute and the arithmetic fits 32 bits (max_per_minute <= 600).
  const uint32_t per_minute = this->config_.max_escalations_per_minute;
  const uint32_t capacity = per_minute * TOKEN;
  if (this->bucket_started_) {
    const uint32_t gap = stream_ms - this->bucket_ms_;  // the sample clock only moves forward (wraps included)
    this->tokens_ += (gap < TOKEN ? gap : TOKEN) * per_minute;
    if (this->tokens_ > capacity)
      this->tokens_ = capacity;
  }
  this->bucket_ms_ = stream_ms;
  this->bucket_started_ = true;

  // Code events move the event detector with the window's code class; an event that starts, or goes on and is
  // due again, is what this window reports (whatever the window's own class).
  int code_event = -1;
#ifdef USE_BINMOE_ALARM_EVENTS
  int fired = -1;
  if (this->code_events_) {
    fired = this->events_.push(code_class);
    if (this->events_.rules() > 0)
      out.alarm_active = this->events_.any_active();
    code_event = fired;
    for (int r = 0; code_event < 0 && r < this->events_.rules(); r++) {
      const int k = this->events_.class_idx(r);
      if (this->events_.active(r) && this->due_(k, stream_ms))
        code_event = k;
    }
  }
#endif
  bool escalate = code_event >= 0 ? false : window.escalate;
  const int own = code_event >= 0 ? code_event : c;
  if (own >= 0 && own < this->classes_ && this->rules_[own].always_escalate) {
    escalate = true;
    out.reason = Reason::ESCALATE_CLASS;
  }
  const bool forced = this->force_next_;
  if (forced) {
    this->force_next_ = false;
    escalate = true;
    out.reason = this->force_reason_;
  }
  const int slot = this->windows_ % HISTORY_WINDOWS;
  const uint8_t mask = static_cast<uint8_t>(1u << (slot % 8));
  if (this->history_[slot / 8] & mask)
    this->history_count_--;  // the window HISTORY_WINDOWS ago leaves the average
  if (escalate) {
    this->history_[slot / 8] |= mask;
    this->history_count_++;
  } else {
    this->history_[slot / 8] &= static_cast<uint8_t>(~mask);
  }
  this->windows_++;

  // Every window moves the event detector. A class with an event rule is reported only as its event: when the
  // event starts, and again while the alarm goes on, at most once per detection interval; an alarm is never held
  // back by the escalation limit. A window of such a class alone is not reported.
#ifdef USE_BINMOE_ALARM_EVENTS
  if (code_event >= 0) {
    out.code_class = static_cast<int8_t>(code_event);
    out.code = code_event == this->code_classes_[0] ? 1 : 2;
    return this->report_(out, code_event, this->events_.find(code_event), escalate, stream_ms);
  }
  if (!this->code_events_ && this->events_.rules() > 0) {
    fired = this->events_.push(c);
    out.alarm_active = this->events_.any_active();
  }
  const int event = this->events_.find(c);
#else
  const int event = -1;  // no alarm-event rules in this node
#endif
  if (escalate && event < 0) {
    if (!forced) {
      if (this->tokens_ < TOKEN) {
        this->dropped_++;
        out.outcome = Outcome::DROPPED;
        return out;
      }
      this->tokens_ -= TOKEN;
    }
    this->escalations_++;
    out.outcome = Outcome::ESCALATION;
    return out;
  }
  if (c < 0 || c >= this->classes_)
    return out;
  const bool due = this->due_(c, stream_ms);
  // with code events, an alarm class's window is reported only through its code (above)
#ifdef USE_BINMOE_ALARM_EVENTS
  const bool report = event >= 0 ? !this->code_events_ && (fired == c || (due && this->events_.active(event)))
                                 : due && this->rules_[c].report && !held;
#else
  const bool report = due && this->rules_[c].report && !held;
#endif
  if (!report) {
    if (forced) {  // an alarm class's window, forced
      this->escalations_++;
      out.outcome = Outcome::ESCALATION;
    }
    return out;
  }
  return this->report_(out, c, event, escalate, stream_ms);  // only an alarm event's report is escalated here
}

Routed Router::report_(Routed out, int class_idx, int event_rule, bool escalate, uint32_t stream_ms) {
  this->detected_once_[class_idx] = true;
  this->last_detection_ms_[class_idx] = stream_ms;
#ifdef USE_BINMOE_ALARM_EVENTS
  if (event_rule >= 0) {
    out.event_windows = static_cast<uint8_t>(this->events_.windows(event_rule));
    out.event_span = static_cast<uint8_t>(this->events_.span(event_rule));
  }
#endif
  if (escalate) {
    this->escalations_++;
    out.outcome = Outcome::ESCALATION;
  } else if (this->rules_[class_idx].report) {
    this->detections_++;
    out.outcome = Outcome::DETECTION;
  }
  return out;
}

bool Router::due_(int class_idx, uint32_t stream_ms) const {
  return !this->detected_once_[class_idx] ||
         stream_ms - this->last_detection_ms_[class_idx] >= this->config_.detection_interval_ms;
}

float Router::escalation_rate() const {
  const uint32_t n = this->windows_ < HISTORY_WINDOWS ? this->windows_ : HISTORY_WINDOWS;
  return n == 0 ? 0.0f : static_cast<float>(this->history_count_) / static_cast<float>(n);
}

}  // namespace esphome::binmoe
