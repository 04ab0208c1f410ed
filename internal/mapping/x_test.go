package mapping
import "testing"
func BenchmarkX(b *testing.B) {
	c := Default()
	p := c.PipelineFor("Purchase")
	b.Run("idx", func(b *testing.B) { for b.Loop() { _ = c.idx == nil } ; b.Log(c.idx == nil, p.sources == nil)})
	b.Run("mt", func(b *testing.B) { for b.Loop() { c.MatterType("Sale & Purchase") } })
	b.Run("st", func(b *testing.B) { for b.Loop() { c.Status("On Hold") } })
	b.Run("stage", func(b *testing.B) { for b.Loop() { p.StageFor("Searches ordered") } })
	b.Run("ha", func(b *testing.B) { for b.Loop() { c.HeaderAliases("activities") } })
	b.Run("bomb", func(b *testing.B) { for b.Loop() { Parse("x", []byte(aliasBomb())) } })
}
