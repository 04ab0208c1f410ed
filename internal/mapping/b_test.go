package mapping
import "testing"
func BenchmarkParseDefault(b *testing.B) {
	data := DefaultYAML()
	b.ReportAllocs()
	for b.Loop() { Parse("d", data) }
}
func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() { Default() }
}
