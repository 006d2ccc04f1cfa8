#include "binmoe_events.h"

namespace esphome::binmoe {

bool EventDetector::add_rule(int class_idx, int need, int span) {
  if (this->count_ >= MAX_CLASSES || class_idx < 0 || class_idx >= MAX_CLASSES || need < 1 || need > span ||
      span > MAX_EVENT_SPAN || this->find(class_idx) >= 0)
    return false;
  Rule &r = this->rules_[this->count_++];
  r.class_idx = static_cast<int8_t>(class_idx);
  r.need = static_cast<uint8_t>(need);
  r.span = static_cast<uint8_t>(span);
  r.seen = 0;
  r.windows = 0;
  r.armed = true;
  return true;
}

void EventDetector::reset() {
  for (int i = 0; i < this->count_; i++) {
    this->rules_[i].seen = 0;
    this->rules_[i].windows = 0;
    this->rules_[i].armed = true;
  }
}

int EventDetector::find(int class_idx) const {
  for (int i = 0; i < this->count_; i++) {
    if (this->rules_[i].class_idx == class_idx)
      return i;
  }
  return -1;
}

int EventDetector::push(int top_class) {
  int fired = -1;
  for (int i = 0; i < this->count_; i++) {
    Rule &r = this->rules_[i];
    // the window `span` steps ago leaves, this one comes in; clearing the leaving bit before the shift keeps
    // `seen` within span bits (span 32 included) without a mask
    const uint32_t oldest = 1u << (r.span - 1);
    const uint8_t in = top_class == r.class_idx, out = (r.seen & oldest) != 0;
    r.seen = ((r.seen & ~oldest) << 1) | in;
    r.windows = static_cast<uint8_t>(r.windows + in - out);
    if (r.windows == 0) {
      r.armed = true;  // span windows without the class: the alarm is over
    } else if (r.armed && r.windows >= r.need && fired < 0) {
      r.armed = false;
      fired = r.class_idx;
    }
  }
  return fired;
}

}  // namespace esphome::binmoe
