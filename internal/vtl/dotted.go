package vtl

// DottedVars is a Context over variables named by dotted paths, as
// internal/reftmpl's are: $context.error.message reads
// Var("context.error.message"). A name Var does not know is null.
func DottedVars(v interface{ Var(string) (string, bool) }) Context {
	return dotted{v}
}

type dotted struct {
	v interface{ Var(string) (string, bool) }
}

func (d dotted) Lookup(name string) (Value, bool) {
	return ObjectValue(&dottedPath{d.v, name}), true
}

// dottedPath is a prefix of a dotted name: a property read extends it,
// any other use reads the variable it names.
type dottedPath struct {
	v    interface{ Var(string) (string, bool) }
	name string
}

func (p *dottedPath) Property(name string) (Value, bool) {
	return ObjectValue(&dottedPath{p.v, p.name + "." + name}), true
}

func (p *dottedPath) Method(name string, args []Value) (Value, bool, error) {
	return Null, false, nil
}

func (p *dottedPath) Scalar() (Value, bool) {
	if s, ok := p.v.Var(p.name); ok {
		return String(s), true
	}
	return Null, false
}

func (p *dottedPath) AppendString(dst []byte) []byte {
	v, _ := p.Scalar()
	return appendValue(dst, v)
}

var _ Scalar = (*dottedPath)(nil)
