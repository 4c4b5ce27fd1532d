package vtl

import (
	"strings"
	"testing"
)

// benchTemplate is a typical integration template: re-shape a JSON body
// with a loop, conditions and references.
const benchTemplate = `#set($root = $input.path('$'))
{
  "orderId": "$root.id",
  "customer": {
    "name": "$root.customer.name",
    "email": "$root.customer.email"
  },
  "requestId": "$context.requestId",
  "items": [
#foreach($item in $root.items)
    {
      "sku": "$item.sku",
      "quantity": $item.qty,
      "price": $item.price#if($item.gift),
      "gift": true#end
    }#if($foreach.hasNext),#end

#end
  ],
  "count": $root.items.size()
}`

func benchBody() string {
	var b strings.Builder
	b.WriteString(`{"id": "ord-12345", "customer": {"name": "Ana Lovelace", "email": "ana@example.com", "address": {"street": "1 Main St", "city": "Springfield", "zip": "12345"}}, "items": [`)
	for i := 0; b.Len() < 1900; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{"sku": "SKU-000`)
		b.WriteByte(byte('0' + i%10))
		b.WriteString(`", "qty": 2, "price": 19.99, "gift": `)
		if i%3 == 0 {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
		b.WriteString(`, "note": "handle with care"}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

func BenchmarkTemplate(b *testing.B) {
	tp, err := Parse("bench", benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	req := newFakeRequest(benchBody())
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(req.body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = tp.Append(buf[:0], NewContext(req))
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTemplateNoJSON is the same template over values already built:
// the evaluator alone.
func BenchmarkTemplateNoJSON(b *testing.B) {
	tp, err := Parse("bench", strings.Replace(benchTemplate, "$input.path('$')", "$body", 1))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := ParseJSON([]byte(benchBody()))
	vars := Vars{"body": body, "context": newFakeRequest("").context["identity"]}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf, err = tp.Append(buf[:0], vars)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench", benchTemplate); err != nil {
			b.Fatal(err)
		}
	}
}
