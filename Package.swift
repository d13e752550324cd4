// swift-tools-version: 6.1
// hj212: a test bench for HJ 212 networking of pollution-source monitoring equipment.
// No package dependencies by design: only the Swift toolchain and small targets of our own.
import PackageDescription

let package = Package(
    name: "hj212",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hj212", targets: ["hj212"]),
        .library(name: "HJ212", targets: ["HJ212"]),
    ],
    targets: [
        // The protocol layer: frames, CRC, data segment, dictionary, dialects, validation. Pure, no I/O.
        .target(
            name: "HJ212",
            plugins: [.plugin(name: "EmbedProfilesPlugin")]
        ),
        // Linux epoll, eventfd and timerfd for Swift (packed epoll_event handled in C).
        .target(name: "CEpoll", path: "Sources/CEpoll"),
        // The network layer: epoll event loops, non-blocking TCP client and server, timers.
        .target(name: "HJNetwork", dependencies: ["CEpoll"]),

        // Capture: pcap/pcapng reading and writing, link/IP/TCP decoding, TCP reassembly. Pure, no I/O.
        .target(name: "HJCapture"),

        // Simulation: unit templates, value models, Appendix D aggregation, virtual clock, fleets.
        .target(name: "HJSimulation", dependencies: ["HJ212"]),

        // Analysis: anomaly rules over record series, alarms, scoring against ground truth. Pure, no I/O.
        .target(name: "HJAnalysis", dependencies: ["HJ212"]),

        // Roles: LoggerSession (field side) and PlatformSession (host side), sans-I/O state machines.
        .target(name: "HJRoles", dependencies: ["HJ212", "HJSimulation"]),

        // Report kit: pieces every report shares (the latency histogram, the self-contained HTML page). A leaf.
        .target(name: "HJReportKit"),

        // Load testing: open-model schedules, shards, reports, the load driver.
        .target(name: "HJLoad", dependencies: ["HJ212", "HJSimulation", "HJRoles", "HJNetwork", "HJReportKit"]),
        // A minimal C epoll ping-pong (server and client): the baseline of `hj212 bench load`.
        .target(name: "CPingPong", path: "Sources/CPingPong"),

        // Conformance: the rule catalogue, the platform and logger suites, verdicts, scores, reports.
        .target(name: "HJConformance", dependencies: ["HJ212", "HJSimulation", "HJRoles", "HJNetwork", "HJReportKit", "HJInstruments"]),

        // SQLite from the system (Debian: apt-get install libsqlite3-dev), no package.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // The store: what the platform acknowledged, in SQLite (packets, records, values, units, commands).
        .target(name: "HJStore", dependencies: ["CSQLite", "HJ212", "HJRoles", "HJSimulation"]),

        // Instruments: Modbus RTU/TCP slaves and DL/T 645-2007 meters driven by the simulation's value models.
        .target(name: "HJInstruments", dependencies: ["HJ212", "HJSimulation", "HJNetwork", "CSerial"]),
        // Pseudo-terminal creation (posix_openpt and friends need _XOPEN_SOURCE).
        .target(name: "CSerial", path: "Sources/CSerial"),

        // Web: the report pages (inline SVG charts) and the live console, HTTP/1.1 on our event loop.
        .target(name: "HJWeb", dependencies: ["HJ212", "HJAnalysis", "HJNetwork", "HJReportKit"]),

        // Live drivers: sessions on real TCP (the reference platform, simulated loggers), traces,
        // pcapng recording, the live clock, the store sink of `serve --store`.
        .target(name: "HJLive", dependencies: ["HJ212", "HJNetwork", "HJRoles", "HJSimulation", "HJReportKit", "HJStore", "HJCapture"]),

        // The command-line interface: argument parsing, terminal output, exit codes.
        .target(name: "HJ212CLI", dependencies: ["HJ212", "HJAnalysis", "HJWeb", "HJSimulation", "HJRoles", "HJNetwork", "HJLoad", "HJLive", "HJReportKit", "HJConformance", "CPingPong", "HJInstruments", "HJCapture", "HJStore"]),
        .executableTarget(name: "hj212", dependencies: ["HJ212CLI"]),

        // Build-time embedding of Profiles/ (code tables, templates) into the HJ212 module,
        // so that the binary works without the source tree and Profiles/ stays the one source of truth.
        .executableTarget(name: "ProfileEmbedder", path: "Sources/ProfileEmbedder"),
        .plugin(
            name: "EmbedProfilesPlugin",
            capability: .buildTool(),
            dependencies: ["ProfileEmbedder"],
            path: "Sources/EmbedProfilesPlugin"
        ),

        // Helpers shared by the test targets (the in-process CLI, temporary files, a free port): one copy each.
        .target(name: "TestSupport", dependencies: ["HJ212CLI"], path: "Tests/TestSupport"),

        .testTarget(name: "HJ212Tests", dependencies: ["HJ212", "TestSupport"]),
        .testTarget(name: "HJNetworkTests", dependencies: ["HJNetwork"]),
        .testTarget(name: "HJSimulationTests", dependencies: ["HJSimulation", "HJ212", "TestSupport"]),
        .testTarget(name: "HJLoadTests", dependencies: ["HJLoad", "HJReportKit", "HJ212", "HJNetwork"]),
        .testTarget(name: "HJRolesTests", dependencies: ["HJRoles", "HJSimulation", "HJ212", "TestSupport"]),
        .testTarget(name: "HJConformanceTests", dependencies: ["HJConformance", "HJ212"]),
        .testTarget(name: "HJInstrumentsTests", dependencies: ["HJInstruments", "HJSimulation", "HJNetwork", "HJ212", "HJ212CLI", "TestSupport"]),
        .testTarget(name: "HJAnalysisTests", dependencies: ["HJAnalysis", "HJSimulation", "HJ212"]),
        .testTarget(name: "HJWebTests", dependencies: ["HJWeb", "HJAnalysis", "HJNetwork", "HJSimulation", "HJ212"]),
        .testTarget(name: "HJ212CLITests", dependencies: ["HJ212CLI", "HJLive", "HJ212", "HJNetwork", "HJRoles", "HJLoad", "HJConformance", "CPingPong", "TestSupport"]),
        .testTarget(name: "HJCaptureTests", dependencies: ["HJCapture", "HJ212CLI", "HJ212", "TestSupport"]),
        .testTarget(name: "HJStoreTests", dependencies: ["HJStore", "HJ212CLI", "HJ212", "HJRoles", "HJNetwork", "HJSimulation", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
