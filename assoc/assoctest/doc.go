// Package assoctest runs two sans-I/O SCTP associations (package assoc)
// against each other in virtual time, over links that lose, duplicate,
// reorder, delay and filter packets. It is the harness of pgsctp's own core
// tests and is exported for user-space testing of SCTP applications.
//
// A Pair is a client A (assoc.NewClient) and a server Z (an assoc.Endpoint
// that accepts INITs and turns the COOKIE ECHO into an Association). No
// socket or goroutine is involved: the Pair moves packets between the two
// cores, polls their transmits and events, and advances a virtual Clock to
// the next deadline. A run is a pure function of its seed (logged at the
// start of every test) and the test's actions, so a failure reproduces:
// set the seed in Options or in the environment (ASSOCTEST_SEED).
//
//	p := assoctest.New(t, assoctest.Options{
//		AZ: assoctest.LinkConfig{Delay: 10 * time.Millisecond, Loss: 0.1},
//		ZA: assoctest.LinkConfig{Delay: 10 * time.Millisecond, Loss: 0.1},
//	})
//	if !p.RunUntil(p.Connected, time.Minute) {
//		t.Fatal("no handshake")
//	}
//	p.A.Send(0, 0, []byte("hello"), assoc.SendOptions{})
//	p.RunUntil(func() bool { return len(p.Z.Received(0)) == 5 }, time.Minute)
//
// Every packet crossing a link is written to the Pair's Ladder (time,
// direction, chunks, fate); when a test fails the tail of the ladder is
// logged. After every input (packet, timeout, user call) the Pair checks
// invariants through the public API of package assoc, the core's own
// Invariants method when it has one, and the Pair's Check hook. Packets the
// cores emit are checked on the wire too (checksum, chunk layout, bundling
// rules, size): the harness parses packets with its own small parser, not
// with package chunk, so that it is a second opinion on the codec.
//
// Environment: ASSOCTEST_SEED=<n> replaces every Pair's seed;
// ASSOCTEST_PCAP=<dir> writes the packets of a failed test to
// <dir>/<test name>.pcap (Ladder.WritePcap), which Wireshark decodes as
// SCTP over UDP.
//
// The harness also plays a strict driver: packet buffers handed to
// HandlePacket, message buffers handed to Send and transmit buffers handed
// to PollTransmit are overwritten once the call returns, so a core that
// keeps a reference to memory it does not own fails loudly.
package assoctest
