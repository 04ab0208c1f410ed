package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestResolveOwners(t *testing.T) {
	ctx := context.Background()
	const adminID = 1 // the sandbox's token user
	type user struct {
		fe     int // index of the fee earner whose email it has; -1 for other
		email  string
		upper  bool // the user's email in upper case
		active bool
	}
	tests := []struct {
		name  string
		users []user
		// yaml gets the fee earners' emails, by index, for %[n]s.
		yaml string
		// want: fee earner index -> resolution, user (by index into users,
		// or -1 for the default owner), flag reason
		want          map[int]struct{ res, user, flag string }
		defaultSource string
		defaultUser   int // index into users, or -1 for the token's user
		err           any
	}{
		{
			name:  "by email, case-insensitive",
			users: []user{{fe: 0, upper: true, active: true}, {fe: 1, active: true}},
			want: map[int]struct{ res, user, flag string }{
				0: {ResolvedByEmail, "0", ""}, 1: {ResolvedByEmail, "1", ""}, 2: {ResolvedByDefault, "default", FlagNoUser},
			},
			defaultSource: "token_user", defaultUser: -1,
		},
		{
			name:  "by map, on id and on email, over a matching email",
			users: []user{{fe: -1, email: "partner@firm.example", active: true}, {fe: 1, active: true}, {fe: -1, email: "Senior@Firm.example", active: true}},
			yaml:  "version: 1\nowners:\n  map:\n    %[1]s: PARTNER@firm.example\n    %[3]s: senior@firm.example\n    %[4]s: nobody@firm.example\n",
			want: map[int]struct{ res, user, flag string }{
				0: {ResolvedByMap, "0", ""}, 1: {ResolvedByEmail, "1", ""}, 2: {ResolvedByMap, "2", ""},
				3: {ResolvedByDefault, "default", FlagMapTargetMissing},
			},
			defaultSource: "token_user", defaultUser: -1,
		},
		{
			name:  "configured default, inactive user",
			users: []user{{fe: -1, email: "office@firm.example", active: true}, {fe: 0, active: false}},
			yaml:  "version: 1\nowners:\n  default: Office@Firm.example\n",
			want: map[int]struct{ res, user, flag string }{
				0: {ResolvedByDefault, "default", FlagUserInactive}, 1: {ResolvedByDefault, "default", FlagNoUser},
			},
			defaultSource: "config", defaultUser: 0,
		},
		{
			name: "configured default that is no user",
			yaml: "version: 1\nowners:\n  default: gone@firm.example\n",
			err:  &DefaultOwnerError{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, envOptions{})
			var logs bytes.Buffer
			env.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			fes := env.stagedFeeEarners(t)
			if len(fes) < 4 {
				t.Fatalf("the sample has %d fee earners", len(fes))
			}
			var userIDs []int
			for _, u := range tc.users {
				email := u.email
				if u.fe >= 0 {
					email = fes[u.fe].Email
				}
				if u.upper {
					email = strings.ToUpper(email)
				}
				userIDs = append(userIDs, env.addUser(t, email, u.active))
			}
			if tc.yaml != "" {
				args := make([]any, len(fes))
				for i, fe := range fes {
					args[i] = fe.Email
				}
				args[2] = fes[2].ID // map one by fee_earner_id
				yaml := tc.yaml
				if strings.Contains(yaml, "%[") {
					yaml = fmt.Sprintf(yaml, args[:4]...)
				}
				env.Config = mustConfig(t, yaml)
			}

			out, err := env.ResolveOwners(ctx, OwnersInput{MigrationID: testMigration, Manifest: env.manifest})
			if tc.err != nil {
				var d *DefaultOwnerError
				if !errors.As(err, &d) {
					t.Fatalf("err = %T %v; want %T", err, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveOwners: %v", err)
			}
			om, err := LoadOwnerMap(ctx, env.store, testMigration)
			if err != nil {
				t.Fatal(err)
			}
			wantDefault := adminID
			if tc.defaultUser >= 0 {
				wantDefault = userIDs[tc.defaultUser]
			}
			if om.Default.UserID != wantDefault || om.Default.Source != tc.defaultSource || out.DefaultUserID != wantDefault {
				t.Errorf("default %+v, want user %d from %s", om.Default, wantDefault, tc.defaultSource)
			}
			flagged := map[string]string{}
			for _, f := range om.Flagged {
				flagged[f.FeeEarnerID] = f.Reason
			}
			for i, fe := range fes {
				w, listed := tc.want[i]
				if !listed {
					w = struct{ res, user, flag string }{ResolvedByDefault, "default", FlagNoUser}
				}
				wantUser := wantDefault
				if w.user != "default" {
					var n int
					fmt.Sscan(w.user, &n)
					wantUser = userIDs[n]
				}
				got := om.FeeEarners[fe.ID]
				if got.Resolution != w.res || got.UserID != wantUser || flagged[fe.ID] != w.flag {
					t.Errorf("fee earner %d (%s): %+v flag %q; want %s user %d flag %q", i, fe.ID, got, flagged[fe.ID], w.res, wantUser, w.flag)
				}
				if om.UserID(fe.ID) != got.UserID {
					t.Errorf("UserID(%s) = %d", fe.ID, om.UserID(fe.ID))
				}
			}
			if om.UserID("FE-unknown") != wantDefault {
				t.Errorf("unknown fee earner goes to %d", om.UserID("FE-unknown"))
			}
			if out.FeeEarners != len(om.FeeEarners) || out.ByEmail+out.ByMap+out.ByDefault != out.FeeEarners || out.Flagged != len(om.Flagged) {
				t.Errorf("output %+v", out)
			}
			// No names or emails, in the log or in owners.json.
			doc := env.getJSON(t, out.Owners, nil)
			for _, fe := range fes {
				for _, secret := range []string{fe.Email, fe.Name} {
					if secret == "" {
						continue
					}
					if strings.Contains(strings.ToLower(logs.String()), strings.ToLower(secret)) {
						t.Errorf("log mentions %q:\n%s", secret, logs.String())
					}
					if strings.Contains(strings.ToLower(string(doc)), strings.ToLower(secret)) {
						t.Errorf("owners.json mentions %q", secret)
					}
				}
			}
			if !strings.Contains(logs.String(), "owners resolved") {
				t.Errorf("no log line: %q", logs.String())
			}
		})
	}
}
