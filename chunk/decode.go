package chunk

// Decode decodes a chunk of any type into a newly allocated value of its
// type: *DataChunk, *InitChunk, ..., *UnknownChunk for types the codec
// does not decode. It is meant for tests, fuzzing and logging; the core
// decodes the hot chunks into reused values with their Unmarshal methods.
// Byte slices in the result alias r.
func Decode(r Raw) (Chunk, error) {
	c := newChunk(r.Type)
	if err := c.Unmarshal(r); err != nil {
		return nil, err
	}
	return c, nil
}

// decoder is a chunk that can be decoded.
type decoder interface {
	Chunk
	Unmarshal(Raw) error
}

// newChunk returns a new zero value of the Go type for chunk type t.
func newChunk(t Type) decoder {
	switch t {
	case TypeData:
		return new(DataChunk)
	case TypeInit:
		return new(InitChunk)
	case TypeInitAck:
		return new(InitAckChunk)
	case TypeSack:
		return new(SackChunk)
	case TypeHeartbeat:
		return new(HeartbeatChunk)
	case TypeHeartbeatAck:
		return new(HeartbeatAckChunk)
	case TypeAbort:
		return new(AbortChunk)
	case TypeShutdown:
		return new(ShutdownChunk)
	case TypeShutdownAck:
		return new(ShutdownAckChunk)
	case TypeError:
		return new(ErrorChunk)
	case TypeCookieEcho:
		return new(CookieEchoChunk)
	case TypeCookieAck:
		return new(CookieAckChunk)
	case TypeShutdownComplete:
		return new(ShutdownCompleteChunk)
	case TypeAuth:
		return new(AuthChunk)
	case TypeAsconf:
		return new(AsconfChunk)
	case TypeAsconfAck:
		return new(AsconfAckChunk)
	case TypePad:
		return new(PadChunk)
	}
	return new(UnknownChunk)
}
