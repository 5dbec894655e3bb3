// Package pcapwriter writes SCTP packets carried over UDP (RFC 6951) to a
// pcap file that Wireshark and tshark open as IPv4 or IPv6, UDP and SCTP.
//
// Each record is one SCTP packet, framed as it was on the wire: an IP
// header and a UDP header (with a correct UDP checksum) around the SCTP
// common header and chunks. That is why captures are written here rather
// than taken with tcpdump on lo: the kernel hands a sender's UDP GSO batch
// (up to 64 segments of one send) to the loopback capture as one
// super-datagram, which Wireshark decodes as a single SCTP packet with
// garbage after the first segment ("malformed"). A caller that sends with
// GSO writes one record per segment.
//
// The file format is classic pcap with nanosecond timestamps and
// LINKTYPE_RAW (the record starts at the IP header), which every Wireshark
// version reads. Wireshark decodes UDP port 9899 as SCTP by itself; for
// other ports use tshark's "-d udp.port==N,sctp" (or Decode As).
package pcapwriter

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// snaplen is the largest record: an IPv6 jumbo-free datagram.
const snaplen = 65535

// Writer appends packets to a pcap stream. It is safe for concurrent use:
// a relay's two directions, or an association's sender and receiver, may
// share one file; records appear in the order of the calls.
type Writer struct {
	mu     sync.Mutex // guards everything below
	pw     *pcapgo.Writer
	closer io.Closer // the file Create opened; nil for New
	buf    gopacket.SerializeBuffer
	err    error // the first write error; later writes return it
}

// New writes the pcap file header to w and returns a Writer that appends
// records to it. Close does not close w.
func New(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(snaplen, layers.LinkTypeRaw); err != nil {
		return nil, fmt.Errorf("pcapwriter: file header: %w", err)
	}
	return &Writer{pw: pw, buf: gopacket.NewSerializeBuffer()}, nil
}

// Create creates (or truncates) the file name and writes the pcap file
// header to it. Close closes the file.
func Create(name string) (*Writer, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("pcapwriter: %w", err)
	}
	w, err := New(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pcapwriter: %s: %w", name, err)
	}
	w.closer = f
	return w, nil
}

// WritePacket appends one record: the SCTP packet pkt (common header and
// chunks, as carried in one UDP datagram) sent at time at from src to dst.
// src and dst must both be IPv4 (or IPv4-mapped) or both IPv6. pkt is not
// retained.
func (w *Writer) WritePacket(at time.Time, src, dst netip.AddrPort, pkt []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if len(pkt) > snaplen-48 {
		return fmt.Errorf("pcapwriter: %d-byte packet does not fit a UDP datagram", len(pkt))
	}
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	var ip gopacket.SerializableLayer
	switch {
	case s.Is4() && d.Is4():
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP(s.AsSlice()), DstIP: net.IP(d.AsSlice())}
		udp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	case s.Is6() && d.Is6():
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.IP(s.AsSlice()), DstIP: net.IP(d.AsSlice())}
		udp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	default:
		return fmt.Errorf("pcapwriter: addresses %v and %v are not of one family", src, dst)
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(w.buf, opts, ip, udp, gopacket.Payload(pkt)); err != nil {
		return fmt.Errorf("pcapwriter: framing a %d-byte packet: %w", len(pkt), err)
	}
	frame := w.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(frame), Length: len(frame)}
	if err := w.pw.WritePacket(ci, frame); err != nil {
		w.err = fmt.Errorf("pcapwriter: %w", err)
		return w.err
	}
	return nil
}

// Close closes the file that Create opened; further writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if errors.Is(w.err, errClosed) {
		return nil
	}
	w.err = errClosed
	if w.closer != nil {
		if err := w.closer.Close(); err != nil {
			return fmt.Errorf("pcapwriter: %w", err)
		}
	}
	return nil
}

var errClosed = errors.New("pcapwriter: closed")
