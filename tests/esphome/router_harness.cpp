// Drives esphome/components/binmoe/binmoe_router.cpp, binmoe_events.cpp and binmoe_message.cpp (plain C++, no
// ESPHome) from stdin for test_router.py and test_events.py.
//   cfg <interval_ms> <max_per_minute> <send_features> <classes>
//   rule <idx> <report> <always_escalate>
//   confirm <idx>                                  -> the class is detected only on its second window in a row
//   event <idx> <need> <span>                      -> the router's alarm-event rule for a class: "1" added, "0" not
//   restart                                        -> the router's event detector forgets the stream
//   force
//   win <stream_ms> <class> <margin> <escalate>   -> "<outcome> <reason>" (stream_ms mod 2^32, as the node's), then
//                                                     " <event_windows> <event_span>" for an alarm event's report
//   codes <t3_class> <t4_class>                    -> the router's code events (-1 -1: off)
//   cwin <stream_ms> <class> <margin> <escalate> <code_class>  -> as win, with the class whose code completed
//                                                     (-1: none); an event's report adds " <code_class> <code>"
//   msg                                            -> the last routed window's message as JSON
//   outbox <capacity>                              -> an empty outbox of that many slots (at most 8)
//   queue <uptime_ms>                              -> keeps the last routed window in the outbox: "<size> <dropped>"
//   flush <now_ms>                                 -> the oldest queued window's message as JSON, then pops it
//   rate                                           -> escalation rate
//   b64 <hex>                                      -> base64
//   det_rule <idx> <need> <span>                   -> a rule of a detector on its own: "1" added, "0" not
//   det_push <class>                               -> "<fired>" then " <windows> <active>" for each of its rules
#include <stdio.h>
#include <string.h>

#include "binmoe_events.h"
#include "binmoe_message.h"
#include "binmoe_router.h"

using namespace esphome::binmoe;

static void print_message(const Message &msg) {
  printf("{");
  for (int i = 0, n = 0; i < MAX_FIELDS; i++) {
    if (msg.values[i] != nullptr)
      printf("%s\"%s\": \"%s\"", n++ ? ", " : "", Message::key(i), msg.values[i]);
  }
  printf("}\n");
}

int main() {
  Router router;
  MessageBuilder messages;
  RouterConfig cfg;
  NodeIdentity id;
  id.node_id = "test-node";
  id.task = "sound";
  id.model_id = "sound-v1";
  id.model_hash8 = "0123abcd";
  strcpy(id.boot, "89abcdef");
  id.frames = 6;
  id.bands = 4;
  id.sample_rate = 16000;
  id.hop_samples = 8192;  // 512 ms
  EventDetector detector;
  static const char *const NAMES[] = {"background", "smoke_alarm", "co_alarm", "knock"};
  int classes = 4;
  WindowResult last{};  // the last routed window
  last.confidence = 0.75f;
  Routed routed{};
  int8_t features[6 * 4];
  for (int i = 0; i < 24; i++)
    features[i] = static_cast<int8_t>(i * 11 - 128);
  Message msg;
  alignas(4) uint8_t arena[8 * queued_slot_bytes(MAX_CLASSES)];
  Outbox outbox;
  char cmd[16];
  while (scanf("%15s", cmd) == 1) {
    if (!strcmp(cmd, "cfg")) {
      unsigned interval, limit;
      int send;
      scanf("%u %u %d %d", &interval, &limit, &send, &classes);
      cfg.detection_interval_ms = interval;
      cfg.max_escalations_per_minute = limit;
      router.configure(cfg, classes);
      messages.set_classes(classes);
      messages.set_send_features(send != 0);
    } else if (!strcmp(cmd, "rule")) {
      int idx, report, always;
      scanf("%d %d %d", &idx, &report, &always);
      router.rule(idx) = ClassRule{report != 0, always != 0};
    } else if (!strcmp(cmd, "confirm")) {
      int idx;
      scanf("%d", &idx);
      router.set_confirm(idx, true);
    } else if (!strcmp(cmd, "event")) {
      int idx, need, span;
      scanf("%d %d %d", &idx, &need, &span);
      printf("%d\n", router.events().add_rule(idx, need, span) ? 1 : 0);
    } else if (!strcmp(cmd, "restart")) {
      router.restart_stream();
    } else if (!strcmp(cmd, "det_rule")) {
      int idx, need, span;
      scanf("%d %d %d", &idx, &need, &span);
      printf("%d\n", detector.add_rule(idx, need, span) ? 1 : 0);
    } else if (!strcmp(cmd, "det_push")) {
      int cls;
      scanf("%d", &cls);
      printf("%d", detector.push(cls));
      for (int i = 0; i < detector.rules(); i++)
        printf(" %d %d", detector.windows(i), detector.active(i) ? 1 : 0);
      printf("\n");
    } else if (!strcmp(cmd, "force")) {
      router.force_next();
    } else if (!strcmp(cmd, "codes")) {
      int t3, t4;
      scanf("%d %d", &t3, &t4);
      router.set_code_classes(t3, t4);
    } else if (!strcmp(cmd, "win") || !strcmp(cmd, "cwin")) {
      unsigned long long t;
      int cls, margin, esc, code_class = -1;
      scanf("%llu %d %d %d", &t, &cls, &margin, &esc);
      const bool with_code = !strcmp(cmd, "cwin");
      if (with_code)
        scanf("%d", &code_class);
      last.class_idx = cls;
      last.margin = margin;
      last.escalate = esc != 0;
      for (int j = 0; j < 4; j++)
        last.logits[j] = (j == cls) ? margin : -j;
      routed = router.route(last, static_cast<uint32_t>(t), code_class);
      printf("%d %d", static_cast<int>(routed.outcome), static_cast<int>(routed.reason));
      if (routed.event_span > 0)
        printf(" %d %d", routed.event_windows, routed.event_span);
      if (with_code && routed.code_class >= 0)
        printf(" %d %d", routed.code_class, routed.code);
      printf("\n");
    } else if (!strcmp(cmd, "msg")) {
      messages.build(routed, last, NAMES[routed.reported_class(last.class_idx)], -23.25f, 123456, id, features, msg);
      print_message(msg);
    } else if (!strcmp(cmd, "outbox")) {
      int capacity;
      scanf("%d", &capacity);
      outbox.init(arena, (capacity < 8 ? capacity : 8) * queued_slot_bytes(classes), classes);
    } else if (!strcmp(cmd, "queue")) {
      unsigned uptime;
      scanf("%u", &uptime);
      messages.queue(routed, last, -23.25f, uptime, outbox);
      printf("%d %u\n", outbox.size(), static_cast<unsigned>(outbox.dropped()));
    } else if (!strcmp(cmd, "flush")) {
      unsigned now;
      scanf("%u", &now);
      const QueuedWindow &q = outbox.front();
      messages.build_queued(q, NAMES[q.routed.reported_class(q.class_idx)], now, id, msg);
      outbox.pop();
      print_message(msg);
    } else if (!strcmp(cmd, "rate")) {
      printf("%.6f\n", static_cast<double>(router.escalation_rate()));
    } else if (!strcmp(cmd, "b64")) {
      char hex[512];
      scanf("%511s", hex);
      uint8_t bytes[256];
      size_t n = strlen(hex) / 2;
      for (size_t i = 0; i < n; i++)
        sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
      char out[400];
      base64(bytes, n, out);
      printf("%s\n", out);
    }
    fflush(stdout);
  }
  return 0;
}
