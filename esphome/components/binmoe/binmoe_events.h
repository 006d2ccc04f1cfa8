// Alarm events (docs/esphome.md, "Alarm events"): smoke (T3) and CO (T4) alarms are patterns over seconds and a
// window lasts about one, so one window alone is no alarm. Per rule, the detector keeps which of the last `span`
// windows had the rule's class; an event starts with the window that makes it `need` of them, and the next one
// only after `span` windows without the class (the alarm stopped). The reference is
// node_factory/reference/events.py; tests/esphome/test_events.py feeds both the same windows. Plain C++, no heap.
#pragma once
#include <stdint.h>

#include "binmoe_runner.h"

namespace esphome::binmoe {

static constexpr int MAX_EVENT_SPAN = 32;  // windows: one 32-bit mask per rule

class EventDetector {
 public:
  // Adds a rule for `class_idx` (1 <= need <= span <= MAX_EVENT_SPAN, one rule per class); false, and nothing
  // added, if it breaks one of these or all MAX_CLASSES rules are taken.
  bool add_rule(int class_idx, int need, int span);
  // The next window's top class; returns the class of the event that starts with this window, or -1.
  int push(int top_class);
  // A new stream: no window seen, every rule armed.
  void reset();

  int rules() const { return this->count_; }
  // The rule of a class, or -1.
  int find(int class_idx) const;
  int class_idx(int rule) const { return this->rules_[rule].class_idx; }
  int need(int rule) const { return this->rules_[rule].need; }
  int span(int rule) const { return this->rules_[rule].span; }
  // Windows with the rule's class among its last `span`.
  int windows(int rule) const { return this->rules_[rule].windows; }
  // An event of the rule's class started and the alarm is not over yet.
  bool active(int rule) const { return !this->rules_[rule].armed; }
  // An event of any rule started and its alarm is not over yet.
  bool any_active() const {
    for (int i = 0; i < this->count_; i++) {
      if (this->active(i))
        return true;
    }
    return false;
  }

 protected:
  struct Rule {
    uint32_t seen;  // bit i: the window i steps ago had the class
    int8_t class_idx;
    uint8_t need, span;
    uint8_t windows;  // bits set in `seen`, kept as windows come and go
    bool armed;
  };
  Rule rules_[MAX_CLASSES];
  uint8_t count_{0};
};

}  // namespace esphome::binmoe
