namespace Qianbao.Server.Hosting;

/// <summary>What one pass of a <see cref="PeriodicSweep"/> found: nothing more due, or a full batch (so more may be).</summary>
internal enum SweepPass
{
    Done,
    MoreDue,
}

/// <summary>
/// The loop every sweeper of the server runs (closing trades and campaigns, expiring points and red packets, settling
/// cashback, keeping holds moving): a pass, then a pause of <see cref="Interval"/> on the injected clock, at once again
/// after a pass that filled its batch. A failed pass is logged and retried next interval, so an outage delays work and
/// loses none; every pass is safe to run in any number of processes (each sweeper says why).
/// </summary>
internal abstract class PeriodicSweep(TimeProvider clock, ILogger logger) : BackgroundService
{
    protected ILogger Logger { get; } = logger;

    protected TimeProvider Clock { get; } = clock;

    /// <summary>The pause between passes that found nothing more due.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>What a pass does, for the log line of a failed one (e.g. "Closing expired trades").</summary>
    protected abstract string Activity { get; }

    protected abstract Task<SweepPass> PassAsync(CancellationToken ct);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var pass = SweepPass.Done;
            try
            {
                pass = await PassAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Logger.LogError(ex, "{Activity} failed; trying again next interval", Activity);
            }
            if (pass == SweepPass.MoreDue) continue;
            try
            {
                await Task.Delay(Interval, Clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
