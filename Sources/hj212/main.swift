import Glibc
import HJ212CLI

exit(CommandLineTool.main(Array(CommandLine.arguments.dropFirst())))
