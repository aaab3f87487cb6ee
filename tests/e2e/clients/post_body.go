// Posts a JSON-ish body of SIZE bytes to URL with Go's net/http client and prints the status,
// or "error: ..." when no answer was read. With "chunked" the length is not declared.
//
//	go run post_body.go URL SIZE [chunked]
package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	size, _ := strconv.Atoi(os.Args[2])
	data := append(append([]byte(`{"title":"`), bytes.Repeat([]byte("a"), size-12)...), []byte(`"}`)...)
	var body io.Reader = bytes.NewReader(data)
	if len(os.Args) > 3 && os.Args[3] == "chunked" {
		body = io.MultiReader(body) // hides the length: sent chunked
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Post(os.Args[1], "application/json", body)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
}
