/// A setting that stops start-up: names the setting and the file, so an operator can fix it.
struct ConfigError: Error, CustomStringConvertible {
    let file: String
    let setting: String
    let message: String

    var description: String {
        setting.isEmpty ? "\(file): \(message)" : "\(file): setting `\(setting)`: \(message)"
    }
}
