// A CloudEvents publisher and receiver written with the official Go SDK, used by
// e2e/sdks.int.test.ts to check that the gateway interoperates with it.
//
//	sdk-go send URL ID TYPE SUBJECT    publish one event in binary mode (with the bearer token in
//	                                   $SDK_TOKEN, if set); prints the HTTP status
//	sdk-go receive PORT                 print every event received as one JSON line
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sdk-go send URL ID TYPE SUBJECT | sdk-go receive PORT")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "send":
		send(os.Args[2], os.Args[3], os.Args[4], os.Args[5])
	case "receive":
		receive(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func send(url, id, typ, subject string) {
	var options []cehttp.Option
	if token := os.Getenv("SDK_TOKEN"); token != "" {
		options = append(options, cehttp.WithHeader("Authorization", "Bearer "+token))
	}
	client, err := cloudevents.NewClientHTTP(options...)
	if err != nil {
		fail(err)
	}
	event := cloudevents.NewEvent()
	event.SetID(id)
	event.SetSource("/sdk-go")
	event.SetType(typ)
	event.SetSubject(subject)
	event.SetExtension("note", subject)
	if err := event.SetData(cloudevents.ApplicationJSON, map[string]string{"from": "go"}); err != nil {
		fail(err)
	}
	ctx := cloudevents.ContextWithTarget(context.Background(), url)
	ctx = cloudevents.WithEncodingBinary(ctx)
	result := client.Send(ctx, event)
	var httpResult *cehttp.Result
	if cloudevents.ResultAs(result, &httpResult) {
		fmt.Println(httpResult.StatusCode)
		return
	}
	fail(result)
}

func receive(port string) {
	p, err := strconv.Atoi(port)
	if err != nil {
		fail(err)
	}
	client, err := cloudevents.NewClientHTTP(cloudevents.WithPort(p))
	if err != nil {
		fail(err)
	}
	fmt.Println("listening")
	err = client.StartReceiver(context.Background(), func(event cloudevents.Event) cloudevents.Result {
		line, _ := json.Marshal(map[string]any{
			"id":      event.ID(),
			"type":    event.Type(),
			"subject": event.Subject(),
			"note":    event.Extensions()["note"],
			"data":    string(event.Data()),
		})
		fmt.Println(string(line))
		return cehttp.NewResult(http.StatusOK, "")
	})
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
