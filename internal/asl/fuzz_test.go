package asl

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary definitions to Parse, which must refuse or
// accept them without panicking; an accepted one is then run on a small
// input, functions "f" and "fn" answering {}, and must not panic either
// (one naming other functions is refused before it starts).
func FuzzParse(f *testing.F) {
	seeds := []string{
		passMachine(`"Parameters":{"v.$":"States.Format('{} {}', $.a, States.ArrayGetItem(States.StringSplit($.b, ','), 0))"}`),
		passMachine(`"InputPath":"$['a b'][0].c","ResultPath":"$.x.y","OutputPath":"$.x"`),
		taskMachine(`"Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":2,"MaxDelaySeconds":3,"JitterStrategy":"FULL"}]`),
		choiceMachine(`{"And":[{"Variable":"$.a","StringMatches":"x*\\*"},{"Not":{"Variable":"$.b","IsPresent":true}}],"Next":"Yes"}`),
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.i","ItemSelector":{"v.$":"$$.Map.Item.Value"},"MaxConcurrency":2,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}],"End":true}}}`,
		`{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.JsonToString($)"}}}`,
		`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"End":true}}}`,
		`{"StartAt":`, `[]`, `{}`, `null`,
	}
	if data, err := os.ReadFile(filepath.Join("..", "..", "statemachine", "migrate.asl.json")); err == nil {
		seeds = append(seeds, string(data))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond) // definitions may loop
		defer cancel()
		opts := Options{
			Handlers: map[string]Handler{"f": returns(`{}`), "fn": returns(`{}`)},
			WaitForTaskToken: func(context.Context, string, string, json.RawMessage) (json.RawMessage, error) {
				return json.RawMessage(`{}`), nil
			},
			Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		}
		_, _ = m.Execute(ctx, json.RawMessage(`{"a":"x","b":"y,z","i":[1,2],"s":1,"e":"E"}`), opts)
	})
}
