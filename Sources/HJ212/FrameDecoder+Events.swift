extension FrameDecoder {
    /// Every event of a complete byte string, in order: what feeding it at once, reading every
    /// event and finishing gives (frames, skipped noise, an incomplete tail).
    ///
    /// ```swift
    /// for case .frame(let raw) in FrameDecoder.events(in: wire) { … }
    /// ```
    public static func events(in bytes: [UInt8], maxFrameBytes: Int = FrameDecoder.largestFrame) -> [Event] {
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        decoder.feed(bytes)
        var events: [Event] = []
        while let e = decoder.next() { events.append(e) }
        events += decoder.finish()
        return events
    }

    /// The frames of a complete byte string (noise and an incomplete tail left out).
    public static func frames(in bytes: [UInt8]) -> [RawFrame] {
        events(in: bytes).compactMap { if case .frame(let f) = $0 { f } else { nil } }
    }
}
