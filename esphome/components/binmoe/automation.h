#pragma once
// The component's triggers (on_detection, on_escalation) and actions (binmoe.force_escalation,
// binmoe.learn_baseline and the host-only binmoe.replay), as ESPHome components keep them: apart from the
// component, in automation.h.
#include <string>

#include "esphome/core/automation.h"
#include "esphome/core/defines.h"
#include "esphome/core/helpers.h"

#include "binmoe_component.h"
#ifdef USE_BINMOE_REPLAY
#include "binmoe_replay.h"
#endif

namespace esphome::binmoe {

#ifdef USE_BINMOE_TRIGGERS
// on_detection / on_escalation: variables `class_name` and `confidence`; an optional class filter.
class ClassTrigger : public Trigger<std::string, float> {
 public:
  void add_class(int idx) {
    if (idx >= 0 && idx < 32)
      this->mask_ |= 1u << idx;
  }
  bool accepts(int idx) const { return this->mask_ == 0 || (idx >= 0 && idx < 32 && ((this->mask_ >> idx) & 1u)); }

 protected:
  uint32_t mask_{0};
};

class DetectionTrigger : public ClassTrigger {
 public:
  explicit DetectionTrigger(BinMoEComponent *parent) { parent->add_detection_trigger(this); }
};

class EscalationTrigger : public ClassTrigger {
 public:
  explicit EscalationTrigger(BinMoEComponent *parent) { parent->add_escalation_trigger(this); }
};
#endif

template<typename... Ts> class ForceEscalationAction : public Action<Ts...>, public Parented<BinMoEComponent> {
 public:
  void play(const Ts &...x) override { this->parent_->force_escalation(); }
};

#ifdef USE_BINMOE_BASELINE
// binmoe.learn_baseline: `duration` in ms (templatable, so a native-API action can pass it through).
template<typename... Ts> class LearnBaselineAction : public Action<Ts...>, public Parented<BinMoEComponent> {
 public:
  TEMPLATABLE_VALUE(uint32_t, duration)
  void play(const Ts &...x) override { this->parent_->learn_baseline(this->duration_.value(x...)); }
};

// binmoe.set_baseline: `baseline`, base64 of a stored baseline (templatable: a native-API action passes it).
template<typename... Ts> class SetBaselineAction : public Action<Ts...>, public Parented<BinMoEComponent> {
 public:
  TEMPLATABLE_VALUE(std::string, baseline)
  void play(const Ts &...x) override { this->parent_->set_baseline(this->baseline_.value(x...)); }
};
#endif

#ifdef USE_BINMOE_REPLAY
template<typename... Ts> class ReplayAction : public Action<Ts...>, public Parented<ReplaySource> {
 public:
  TEMPLATABLE_VALUE(std::string, file)
  void play(const Ts &...x) override { this->parent_->start(this->file_.value(x...)); }
};
#endif

}  // namespace esphome::binmoe
