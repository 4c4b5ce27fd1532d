package fault

import "testing"

func TestIndex(t *testing.T) {
	for i, d := range Types {
		if got := d.Type.Index(); got != i {
			t.Errorf("%s.Index() = %d, want %d", d.Type, got, i)
		}
	}
	if got := Type("BOGUS").Index(); got != -1 {
		t.Errorf("BOGUS.Index() = %d", got)
	}
}

func TestMessageString(t *testing.T) {
	if got := (&Error{Message: `say "hi"`}).MessageString(); got != `"say \"hi\""` {
		t.Errorf("got %s", got)
	}
	if got := (&Error{NullMessage: true}).MessageString(); got != "null" {
		t.Errorf("null message: got %s", got)
	}
}
