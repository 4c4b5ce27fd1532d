package vtl

// node is a piece of a template body.
type node interface{}

// expr is an expression inside a directive or a method's arguments.
type expr interface{}

type textNode struct{ text string }

// refNode is a reference: $a, $!a, ${a.b}, $a.b(1)[0], with its escapes.
type refNode struct {
	at    int    // offset of the '$' in the source
	raw   string // the reference as written, without leading backslashes
	esc   int    // leading backslashes
	quiet bool
	root  string
	slot  int
	chain []access
}

const (
	accProp = iota
	accMethod
	accIndex
)

type access struct {
	op   uint8
	name string
	args []expr // method arguments, or the index
	at   int
}

type setNode struct {
	at  int
	lhs *refNode
	rhs expr
}

type ifNode struct {
	at     int
	conds  []expr
	bodies [][]node
	els    []node
}

type foreachNode struct {
	at   int
	v    *refNode
	iter expr
	body []node
}

// callNode is a macro call (#name(args), #@name(args) body #end) or a
// directive Velocity does not know, rendered as written.
type callNode struct {
	at   int
	name string
	args []expr
	body []node // block macro call
	raw  string
	// block is set for #@name calls.
	block bool
}

type defineNode struct {
	at   int
	slot int
	body []node
}

type breakNode struct{ at int }
type stopNode struct{ at int }

type evaluateNode struct {
	at  int
	arg expr
}

// unsupportedNode is #include or #parse: there are no resources to read.
type unsupportedNode struct {
	at   int
	name string
}

// macro is a #macro definition.
type macro struct {
	name   string
	params []int // slots
	pnames []string
	body   []node
}

type litExpr struct{ v Value }

// interpExpr is a double-quoted string with references or directives.
type interpExpr struct{ nodes []node }

type listExpr struct{ items []expr }

type mapExpr struct{ keys, vals []expr }

type rangeExpr struct {
	at     int
	lo, hi expr
}

// wordExpr is a bare word among a directive's arguments (#foreach's in).
type wordExpr struct{ w string }

type binExpr struct {
	at   int
	op   uint8
	l, r expr
}

type notExpr struct{ x expr }

type parenExpr struct{ x expr }

const (
	opOr uint8 = iota + 1
	opAnd
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opAdd
	opSub
	opMul
	opDiv
	opMod
)
