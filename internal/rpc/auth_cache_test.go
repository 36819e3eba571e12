package rpc

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// A bcrypt password that matched is not hashed again; a wrong one is
// refused every time, also after the right one matched, and another
// stored hash of the same password is checked on its own.
func TestBcryptMatchesAreRemembered(t *testing.T) {
	h1, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	h2, _ := bcrypt.GenerateFromPassword([]byte("other"), bcrypt.MinCost)
	for range 3 {
		if !passwordOK(string(h1), "pw") {
			t.Fatal("the right password refused")
		}
		if passwordOK(string(h1), "pW") || passwordOK(string(h1), "") {
			t.Fatal("a wrong password accepted")
		}
		if passwordOK(string(h2), "pw") {
			t.Fatal("a password accepted against another user's hash")
		}
	}
}

// BenchmarkBcryptCheck: a request's password check at the default cost,
// the first time and once remembered.
func BenchmarkBcryptCheck(b *testing.B) {
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.DefaultCost)
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			if bcrypt.CompareHashAndPassword(h, []byte("pw")) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		passwordOK(string(h), "pw")
		for b.Loop() {
			if !passwordOK(string(h), "pw") {
				b.Fatal("refused")
			}
		}
	})
}
