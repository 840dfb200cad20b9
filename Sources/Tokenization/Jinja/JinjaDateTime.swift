import Foundation

/// A calendar date and time of day, as `strftime_now` formats it. Templates
/// see the clock only through this value, so tests can pin it.
public struct JinjaDateTime: Sendable, Equatable {
    /// Year, e.g. 2026.
    public var year: Int
    /// Month, 1–12.
    public var month: Int
    /// Day of the month, 1–31.
    public var day: Int
    /// Hour, 0–23.
    public var hour: Int
    /// Minute, 0–59.
    public var minute: Int
    /// Second, 0–59.
    public var second: Int

    /// Creates a date and time from its fields (not validated beyond formatting).
    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// The current local time, as Python's `datetime.now()` gives it to
    /// transformers' `strftime_now`.
    public static func now() -> JinjaDateTime {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone.current, from: Date())
        return JinjaDateTime(year: c.year ?? 1970, month: c.month ?? 1, day: c.day ?? 1,
                             hour: c.hour ?? 0, minute: c.minute ?? 0, second: c.second ?? 0)
    }

    /// 0 = Monday … 6 = Sunday (Python's `weekday()`), by Sakamoto's method.
    var weekday: Int {
        let t = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4]
        let y = month < 3 ? year - 1 : year
        let sundayBased = (y + y / 4 - y / 100 + y / 400 + t[(month - 1) % 12] + day) % 7
        return (sundayBased + 6) % 7
    }

    private var dayOfYear: Int {
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        var n = day
        for m in 0..<max(0, min(month - 1, 11)) { n += lengths[m] + (m == 1 && leap ? 1 : 0) }
        return n
    }

    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]
    private static let weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    /// C `strftime` in the C locale for the directives chat templates use:
    /// `%Y %y %m %d %e %j %H %I %M %S %p %b %B %a %A %%`.
    func format(_ pattern: String) throws -> String {
        func pad(_ v: Int, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = ""
        var iterator = pattern.makeIterator()
        while let c = iterator.next() {
            guard c == "%" else { out.append(c); continue }
            guard let d = iterator.next() else {
                throw JinjaError(.runtime, "expected a directive after '%' in strftime_now's format, found the end")
            }
            let monthName = JinjaDateTime.months[max(0, min(month - 1, 11))]
            let dayName = JinjaDateTime.weekdays[weekday]
            switch d {
            case "Y": out += String(year)
            case "y": out += pad(year % 100)
            case "m": out += pad(month)
            case "d": out += pad(day)
            case "e": out += (day < 10 ? " " : "") + String(day)
            case "j": out += pad(dayOfYear, 3)
            case "H": out += pad(hour)
            case "I": out += pad(hour % 12 == 0 ? 12 : hour % 12)
            case "M": out += pad(minute)
            case "S": out += pad(second)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "b": out += String(monthName.prefix(3))
            case "B": out += monthName
            case "a": out += String(dayName.prefix(3))
            case "A": out += dayName
            case "%": out += "%"
            default:
                throw JinjaError(.runtime, "expected a supported strftime directive (%Y %y %m %d %e %j %H %I %M %S %p "
                    + "%b %B %a %A %%), found '%\(d)'; extend JinjaDateTime.format if a template needs it")
            }
        }
        return out
    }
}
