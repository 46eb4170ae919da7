using System.Diagnostics;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Tests.Events;

/// <summary>
/// The read shared by subscriber loops woken together: who may be answered from another loop's read, and that the
/// answer is exactly the events after the asker's checkpoint.
/// </summary>
public sealed class EventReadShareTests
{
    private static StoredEvent At(long seq) => new(new EventPosition(7, seq), Guid.CreateVersion7(), "transfer.completed", "s", "{}", 1);

    private sealed class Log(params long[] seqs)
    {
        public int Reads;

        public Task<IReadOnlyList<StoredEvent>> ReadAsync(EventPosition after, int limit, CancellationToken ct)
        {
            Interlocked.Increment(ref Reads);
            IReadOnlyList<StoredEvent> events = [.. seqs.Where(s => new EventPosition(7, s).CompareTo(after) > 0).Take(limit).Select(At)];
            return Task.FromResult(events);
        }
    }

    [Fact]
    public async Task LoopsWokenBeforeAReadAreAnsweredFromItWithTheEventsAfterTheirOwnCheckpoint()
    {
        var share = new EventReadShare(limit: 10);
        var log = new Log(1, 2, 3, 4, 5);
        var woken = Stopwatch.GetTimestamp();

        var first = await share.ReadAsync(EventPosition.Start, woken, log.ReadAsync, default);
        first.Events.Select(e => e.Position.Seq).ShouldBe([1L, 2, 3, 4, 5]);
        first.Full.ShouldBeFalse();

        var same = await share.ReadAsync(EventPosition.Start, woken, log.ReadAsync, default);
        same.Events.ShouldBe(first.Events);
        var ahead = await share.ReadAsync(new EventPosition(7, 3), woken, log.ReadAsync, default);
        ahead.Events.Select(e => e.Position.Seq).ShouldBe([4L, 5]);
        // Past everything a complete read returned: nothing yet, without reading.
        var past = await share.ReadAsync(new EventPosition(7, 9), woken, log.ReadAsync, default);
        past.Events.ShouldBeEmpty();
        past.Full.ShouldBeFalse();
        log.Reads.ShouldBe(1);
        share.SharedCount.ShouldBe(3);
        // The parsed event is one object for every loop.
        ReferenceEquals(same.Events[3], ahead.Events[0]).ShouldBeTrue();
    }

    [Fact]
    public async Task ALoopWokenAfterTheReadStartedOrBehindItOrPastAFullReadReadsItself()
    {
        var share = new EventReadShare(limit: 3);
        var log = new Log(1, 2, 3, 4, 5);
        var woken = Stopwatch.GetTimestamp();
        var from2 = await share.ReadAsync(new EventPosition(7, 2), woken, log.ReadAsync, default);
        from2.Events.Select(e => e.Position.Seq).ShouldBe([3L, 4, 5]);
        from2.Full.ShouldBeTrue();

        // Behind the read's start: it cannot tell what lies between.
        var behind = await share.ReadAsync(EventPosition.Start, woken, log.ReadAsync, default);
        behind.Events.Select(e => e.Position.Seq).ShouldBe([1L, 2, 3]);
        log.Reads.ShouldBe(2);

        // Inside a full read: the rest of it, marked full so the loop reads on at once.
        var inside = await share.ReadAsync(new EventPosition(7, 4), woken, log.ReadAsync, default);
        inside.Events.Select(e => e.Position.Seq).ShouldBe([5L]);
        inside.Full.ShouldBeTrue();
        log.Reads.ShouldBe(2);

        // At the end of a full read: more may follow it, so read.
        var atEnd = await share.ReadAsync(new EventPosition(7, 5), woken, log.ReadAsync, default);
        atEnd.Events.ShouldBeEmpty();
        log.Reads.ShouldBe(3);

        // Woken after every read so far started: none is fresh enough.
        var later = await share.ReadAsync(new EventPosition(7, 2), Stopwatch.GetTimestamp(), log.ReadAsync, default);
        later.Events.Select(e => e.Position.Seq).ShouldBe([3L, 4, 5]);
        log.Reads.ShouldBe(4);
    }

    [Fact]
    public async Task AFailedReadIsNotSharedAndTheAskerReadsItself()
    {
        var share = new EventReadShare(limit: 10);
        var woken = Stopwatch.GetTimestamp();
        await Should.ThrowAsync<InvalidOperationException>(() => share.ReadAsync(EventPosition.Start, woken,
            (_, _, _) => Task.FromException<IReadOnlyList<StoredEvent>>(new InvalidOperationException("down")), default));
        var log = new Log(1);
        (await share.ReadAsync(EventPosition.Start, woken, log.ReadAsync, default)).Events.Count.ShouldBe(1);
        log.Reads.ShouldBe(1);
    }
}
