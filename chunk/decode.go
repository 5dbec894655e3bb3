package chunk

// Decode decodes a chunk of any type into a newly allocated value of its
// type: *DataChunk, *InitChunk, ..., *UnknownChunk for types the codec
// does not decode. It is meant for tests, fuzzing and logging; the core
// decodes the hot chunks into reused values with their Unmarshal methods.
// Byte slices in the result alias r.
func Decode(r Raw) (Chunk, error) {
	var c interface {
		Chunk
		Unmarshal(Raw) error
	}
	switch r.Type {
	case TypeData:
		c = new(DataChunk)
	case TypeInit:
		c = new(InitChunk)
	case TypeInitAck:
		c = new(InitAckChunk)
	case TypeSack:
		c = new(SackChunk)
	case TypeHeartbeat:
		c = new(HeartbeatChunk)
	case TypeHeartbeatAck:
		c = new(HeartbeatAckChunk)
	case TypeAbort:
		c = new(AbortChunk)
	case TypeShutdown:
		c = new(ShutdownChunk)
	case TypeShutdownAck:
		c = new(ShutdownAckChunk)
	case TypeError:
		c = new(ErrorChunk)
	case TypeCookieEcho:
		c = new(CookieEchoChunk)
	case TypeCookieAck:
		c = new(CookieAckChunk)
	case TypeShutdownComplete:
		c = new(ShutdownCompleteChunk)
	default:
		c = new(UnknownChunk)
	}
	if err := c.Unmarshal(r); err != nil {
		return nil, err
	}
	return c, nil
}
