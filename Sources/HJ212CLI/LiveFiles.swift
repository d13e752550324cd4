import HJLive

/// The live drivers' output files opened from the command line: a file that cannot be written is
/// a usage error (exit 2), as for every other option.
extension TraceWriter {
    convenience init(path: String?, offsetMinutes: Int, maxPartialStreams: Int = 4_096, capture: CaptureRecorder? = nil) throws(UsageError) {
        do { try self.init(file: path, offsetMinutes: offsetMinutes, maxPartialStreams: maxPartialStreams, capture: capture) } catch { throw UsageError(error.message, exitCode: 2) }
    }
}

extension TruthWriter {
    convenience init(path: String) throws(UsageError) {
        do { try self.init(file: path) } catch { throw UsageError(error.message, exitCode: 2) }
    }
}

extension CaptureRecorder {
    convenience init(path: String, offsetMinutes: Int, localIsLogger: Bool, local: String? = nil) throws(UsageError) {
        do { try self.init(file: path, offsetMinutes: offsetMinutes, localIsLogger: localIsLogger, local: local) } catch { throw UsageError(error.message, exitCode: 2) }
    }
}
