package assoc

import (
	"reflect"
	"testing"
)

// TestPollEventTo: messages keep their place among the other events
// whether they come boxed (PollEvent) or written to the caller's Message
// (PollEventTo), and the two can be mixed.
func TestPollEventTo(t *testing.T) {
	a := &Association{}
	m1 := Message{StreamID: 1, PPID: 7, Data: []byte("one")}
	m2 := Message{StreamID: 2, Unordered: true, Data: []byte("two")}
	m3 := Message{StreamID: 3, Data: []byte("three")}
	a.pushMessage(m1)
	a.pushEvent(Writable{})
	a.pushMessage(m2)
	a.pushMessage(m3)
	a.pushEvent(Closed{})

	var m Message
	steps := []struct {
		boxed bool
		want  Event
		msg   *Message
	}{
		{false, MessageReady{}, &m1},
		{true, Writable{}, nil},
		{true, m2, nil},
		{false, MessageReady{}, &m3},
		{false, Closed{}, nil},
	}
	for i, s := range steps {
		m = Message{}
		var ev Event
		var ok bool
		if s.boxed {
			ev, ok = a.PollEvent()
		} else {
			ev, ok = a.PollEventTo(&m)
		}
		if !ok || !reflect.DeepEqual(ev, s.want) {
			t.Fatalf("event %d: %#v, %v; want %#v", i, ev, ok, s.want)
		}
		if s.msg != nil && !reflect.DeepEqual(m, *s.msg) {
			t.Fatalf("event %d: message %+v; want %+v", i, m, *s.msg)
		}
	}
	if ev, ok := a.PollEventTo(&m); ok {
		t.Fatalf("an event after the last: %#v", ev)
	}
	if len(a.msgs) != 0 || len(a.events) != 0 {
		t.Errorf("queues not reset when drained: %d messages, %d events", len(a.msgs), len(a.events))
	}
}
