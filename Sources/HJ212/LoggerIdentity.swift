/// Who a data logger is on the wire: its MN (设备唯一标识) and PW (访问密码). In the codec so that
/// the roles, the simulator and the tools share it without depending on each other.
public struct LoggerIdentity: Sendable, Hashable {
    public var mn: String
    public var pw: String
    public init(mn: String, pw: String) {
        self.mn = mn
        self.pw = pw
    }
}
