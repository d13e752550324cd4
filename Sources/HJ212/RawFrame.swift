/// One frame as found in a byte stream, before the data segment is interpreted.
///
/// The decoder finds where a frame starts (`##`) and ends; it does not judge it. A frame is also
/// reported when its length field is broken or disagrees with where the frame really ends, so that
/// the validator can say exactly what is wrong instead of the bytes being lost as noise.
public struct RawFrame: Sendable, Equatable {
    /// Byte offset of the leading `##` in the input stream.
    public var offset: Int
    /// The frame as received: `##`, length, segment, CRC and whatever trailer was present.
    public var bytes: [UInt8]
    /// The declared segment length, or nil when the four length characters are not all digits.
    public var declaredLength: Int?
    /// Where the data segment lies within `bytes`.
    public var segment: Range<Int>
    /// Where the four CRC characters lie within `bytes` (always four bytes).
    public var crcField: Range<Int>
    /// What ended the frame.
    public var trailer: Trailer
    /// How the end of the frame was found.
    public var boundary: Boundary

    /// What followed the CRC.
    public enum Trailer: String, Sendable, Equatable {
        /// CR LF, as the standard prescribes.
        case crlf
        /// LF alone.
        case lf
        /// CR alone.
        case cr
        /// Nothing: the next frame or the end of the input followed the CRC directly.
        case missing
    }

    /// How the decoder found the end of the frame.
    public enum Boundary: String, Sendable, Equatable {
        /// The declared length put the CRC and trailer where they were.
        case declaredLength
        /// The declared length was unusable or wrong; the frame ended at the first `&&XXXX` CR LF.
        case lineEnd
    }

    /// The data-segment bytes.
    public var segmentBytes: ArraySlice<UInt8> { bytes[segment] }
    /// The four CRC characters as sent.
    public var crcBytes: ArraySlice<UInt8> { bytes[crcField] }
    /// The four length characters as sent.
    public var lengthBytes: ArraySlice<UInt8> { bytes[2..<6] }
    /// The data segment decoded as UTF-8 (invalid sequences replaced).
    public var segmentText: String { String(decoding: segmentBytes, as: UTF8.self) }
    /// The frame without its trailer, as text.
    public var textWithoutTrailer: String { String(decoding: bytes[..<crcField.upperBound], as: UTF8.self) }

    /// Whether a platform takes the length field: it declares the data segment's length in
    /// UTF-8 bytes (the standard), or in characters as some firmware counts them (UTF-16 units,
    /// as Java and C# count, or code points). False when the field is not four digits. The rule
    /// of `serve`'s platform (`PlatformSession`) and of the roster's count of a trace's frames.
    ///
    /// ```swift
    /// // "##0004" + "CN=中" (6 bytes, 4 characters) + CRC: declaredLengthFits == true
    /// ```
    public var declaredLengthFits: Bool {
        guard let declared = declaredLength else { return false }
        if declared == segment.count { return true }
        let text = segmentText
        return declared == text.utf16.count || declared == text.unicodeScalars.count
    }
}

/// Bytes that the decoder passed over because they are not part of any frame.
public struct SkippedBytes: Sendable, Equatable {
    /// Offset of the first skipped byte in the input stream.
    public var offset: Int
    /// Number of bytes skipped.
    public var count: Int
    /// Why they were skipped.
    public var reason: Reason
    /// The first bytes (at most 64), for diagnostics.
    public var sample: [UInt8]

    public init(offset: Int, count: Int, reason: Reason, sample: [UInt8]) {
        self.offset = offset
        self.count = count
        self.reason = reason
        self.sample = sample
    }

    public enum Reason: String, Sendable, Equatable {
        /// Bytes before a `##` (modem chatter, line noise).
        case noise
        /// A `##` whose length field is not four digits and that no line end closes.
        case brokenHeader = "broken-header"
        /// A `##` with a plausible length whose frame could not be delimited.
        case unframed
        /// A frame cut short: the next frame's header arrived before its declared end.
        case truncated
    }
}

/// The end of the input cut a frame short.
public struct IncompleteTail: Sendable, Equatable {
    /// Offset of the frame's `##` in the input stream.
    public var offset: Int
    /// Bytes that were present.
    public var count: Int
    /// The declared segment length, when it could be read.
    public var declaredLength: Int?
    /// The first bytes (at most 64), for diagnostics.
    public var sample: [UInt8]
    /// The four bytes where the declared length puts the CRC, when the input holds them: the
    /// data segment is complete, but those bytes are not four hex digits and no CR LF after a
    /// CRC ends the frame, so it could not be delimited (nil when the input cut the frame short).
    public var crc: [UInt8]? = nil
}
