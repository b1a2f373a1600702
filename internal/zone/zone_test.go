package zone

import (
	"sync"
	"testing"
	"time"
)

func TestLoadRemembersKnownZonesOnly(t *testing.T) {
	l, err := Load("Indian/Reunion")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Load("Indian/Reunion")
	if l != again {
		t.Error("a second load made a second location")
	}
	if at := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC).In(l); at.Format(time.DateOnly) != "2026-12-07" || at.Hour() != 1 {
		t.Errorf("21:00 UTC in Réunion is %v", at)
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "../etc/passwd"} {
		if _, err := Load(bad); err == nil {
			t.Errorf("%q loaded", bad)
		}
		if _, kept := loaded.Load(bad); kept {
			t.Errorf("%q remembered", bad)
		}
	}
	if Or("Mars/Olympus", time.UTC) != time.UTC {
		t.Error("an unknown zone did not fall back")
	}
}

func TestConcurrentLoadsAgree(t *testing.T) {
	var wg sync.WaitGroup
	got := make([]*time.Location, 64)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = Load("America/Cayenne")
		}()
	}
	wg.Wait()
	for _, l := range got {
		if l == nil || l.String() != "America/Cayenne" {
			t.Fatalf("a concurrent load gave %v", l)
		}
	}
}
