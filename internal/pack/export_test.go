package pack

// UnmarshalUnrecovered is Unmarshal without its recover: the fuzz test
// must see a panic, not an error made of it.
var UnmarshalUnrecovered = unmarshal
