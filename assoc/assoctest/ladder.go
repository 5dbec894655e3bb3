package assoctest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pgsctp/pgsctp/assoc"
	"github.com/pgsctp/pgsctp/chunk"
)

// Kind says what a ladder entry records.
type Kind uint8

// Entry kinds.
const (
	KindPacket Kind = iota // a packet offered to a link (or injected)
	KindEvent              // an event an association reported
	KindNote               // a line the harness or a test wrote
)

// Entry is one line of a ladder.
type Entry struct {
	Kind Kind
	At   time.Time // when the packet was sent, the event polled, the note written

	// Packets.
	Dir    Direction
	Src    netip.AddrPort // where it was sent from and to (zero on injected packets)
	Dst    netip.AddrPort
	Data   []byte    // the packet as it travels (after hooks); do not modify
	Arrive time.Time // when it is delivered; zero if it was not
	Fate   string    // why it was not delivered ("" if it was), or "injected"
	Dup    bool      // the second copy of a duplicated packet
	Frag   bool      // sent with IP fragmentation allowed (Transmit.Fragment)

	// Events and notes.
	Side  string // "A" or "Z"
	Event assoc.Event
	Note  string
}

// Delivered reports whether a packet entry reached its destination.
func (e *Entry) Delivered() bool {
	return e.Kind == KindPacket && (e.Fate == "" || e.Fate == fateInjected)
}

// Has reports whether a packet entry carries chunk type t.
func (e *Entry) Has(t chunk.Type) bool { return e.Kind == KindPacket && Contains(e.Data, t) }

// Types are the chunk types of a packet entry.
func (e *Entry) Types() []chunk.Type { return ChunkTypes(e.Data) }

// String prints the entry as one ladder line.
func (e *Entry) String() string {
	t := e.At.Sub(Epoch)
	switch e.Kind {
	case KindEvent:
		return fmt.Sprintf("%12s  %s: %s", fmtDur(t), e.Side, describeEvent(e.Event))
	case KindNote:
		return fmt.Sprintf("%12s  -- %s", fmtDur(t), e.Note)
	}
	arrow := "A ---> Z"
	if e.Dir == ZtoA {
		arrow = "A <--- Z"
	}
	var tail string
	switch {
	case e.Fate == fateInjected:
		tail = "  (injected)"
	case e.Fate != "":
		tail = "  XX " + e.Fate
	default:
		tail = "  arrives " + fmtDur(e.Arrive.Sub(Epoch))
		if e.Dup {
			tail += " (duplicate)"
		}
	}
	if e.Frag {
		tail += " (DF clear)"
	}
	var via string
	if e.Src.IsValid() {
		via = fmt.Sprintf(" [%v>%v]", e.Src.Addr(), e.Dst.Addr())
	}
	return fmt.Sprintf("%12s  %s%s  %4dB %s%s", fmtDur(t), arrow, via, len(e.Data), Describe(e.Data), tail)
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.6fs", d.Seconds())
}

func describeEvent(ev assoc.Event) string {
	switch ev := ev.(type) {
	case assoc.Message:
		u := ""
		if ev.Unordered {
			u = " unordered"
		}
		return fmt.Sprintf("Message sid=%d ppid=%d%s %dB", ev.StreamID, ev.PPID, u, len(ev.Data))
	case assoc.Closed:
		return fmt.Sprintf("Closed err=%v", ev.Err)
	default:
		return fmt.Sprintf("%T%+v", ev, ev)
	}
}

// ladderLimit bounds a ladder's memory: past it only packet counts grow.
const ladderLimit = 200000

// Ladder is the record of a Pair's run: every packet offered to a link
// (delivered or not), every event and the notes. Print it on failure.
type Ladder struct {
	Entries []Entry
	// Omitted counts entries not kept after the limit was reached.
	Omitted int
}

func (l *Ladder) add(e Entry) int {
	if len(l.Entries) >= ladderLimit {
		l.Omitted++
		return -1
	}
	l.Entries = append(l.Entries, e)
	return len(l.Entries) - 1
}

// String prints the whole ladder.
func (l *Ladder) String() string { return l.Tail(len(l.Entries)) }

// Tail prints the last n entries.
func (l *Ladder) Tail(n int) string {
	var sb strings.Builder
	from := max(0, len(l.Entries)-n)
	if from > 0 {
		fmt.Fprintf(&sb, "... %d earlier entries\n", from)
	}
	for i := from; i < len(l.Entries); i++ {
		sb.WriteString(l.Entries[i].String())
		sb.WriteByte('\n')
	}
	if l.Omitted > 0 {
		fmt.Fprintf(&sb, "... %d entries over the limit not kept\n", l.Omitted)
	}
	return sb.String()
}

// Packets returns the packet entries in direction dir that carry chunk
// type t, in the order they were sent (dropped ones included: check
// Delivered).
func (l *Ladder) Packets(dir Direction, t chunk.Type) []Entry {
	var out []Entry
	for _, e := range l.Entries {
		if e.Kind == KindPacket && e.Dir == dir && !e.Dup && e.Has(t) {
			out = append(out, e)
		}
	}
	return out
}

// Count is the number of packets sent in direction dir carrying chunk type
// t (dropped ones included, duplicates made by the link not).
func (l *Ladder) Count(dir Direction, t chunk.Type) int { return len(l.Packets(dir, t)) }

// FlowStep is one delivered packet in a Flow.
type FlowStep struct {
	Dir    Direction
	Chunks []chunk.Type
}

func (s FlowStep) String() string {
	names := make([]string, len(s.Chunks))
	for i, t := range s.Chunks {
		names[i] = TypeName(t)
	}
	return s.Dir.String() + " " + strings.Join(names, "+")
}

// Flow lists the delivered packets (first copies) in order of arrival:
// the message ladder as the endpoints saw it.
func (l *Ladder) Flow() []FlowStep {
	var es []Entry
	for _, e := range l.Entries {
		if e.Kind == KindPacket && e.Delivered() && !e.Dup {
			es = append(es, e)
		}
	}
	slices.SortStableFunc(es, func(a, b Entry) int {
		ta, tb := a.Arrive, b.Arrive
		if a.Fate == fateInjected {
			ta = a.At
		}
		if b.Fate == fateInjected {
			tb = b.At
		}
		return ta.Compare(tb)
	})
	out := make([]FlowStep, len(es))
	for i, e := range es {
		out[i] = FlowStep{Dir: e.Dir, Chunks: e.Types()}
	}
	return out
}

// FlowString prints Flow one step per line.
func (l *Ladder) FlowString() string {
	var sb strings.Builder
	for _, s := range l.Flow() {
		sb.WriteString(s.String())
		sb.WriteByte('\n')
	}
	return sb.String()
}
