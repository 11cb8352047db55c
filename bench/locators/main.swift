// Times `storedLocator` (a citation read back as `StoredLocators` reads the task column: parsed,
// kept when its citation is the same text) over 100k citations: 60 % lines and pages (the forms
// most tasks hold), 40 % messages, paragraphs and sheets. Prints µs per citation, median of 9.
import Foundation

func citations(_ n: Int) -> [String] {
  (0..<n).map { i in
    switch i % 10 {
    case 0...4: "logs/app-\(i % 37).log#L\(i)-L\(i + 40)"
    case 5, 6: "contracts/contract \(i % 11).pdf#page=\(i % 300 + 1)"
    case 7: "mail/ops-team.mbox#msg=weekly-\(i).tf@harborfreight.example"
    case 8: "docs/report-\(i % 5).docx#para=\(i % 90 + 1)-\(i % 90 + 7)"
    default: "books/book.xlsx#sheet=Q\(i % 4 + 1)!A1:F\(i % 80 + 2)"
    }
  }
}

func median(_ sample: [String]) -> Double {
  var times: [Double] = []
  var sink = 0
  for _ in 0..<9 {
    let start = DispatchTime.now().uptimeNanoseconds
    for c in sample { sink &+= storedLocator(c).path.utf8.count }
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / Double(sample.count))
  }
  precondition(sink != 42)
  return times.sorted()[times.count / 2]
}

let all = citations(100_000)
let linesAndPages = all.filter { $0.contains("#L") || $0.contains("#page=") }
print(String(format: "mixed %.3f µs, lines/pages %.3f µs", median(all), median(linesAndPages)))
