using Microsoft.Playwright;

namespace Qianbao.Server.Tests.Consoles.Wallet;

/// <summary>Waiting for the page a form's answer leads to.</summary>
internal static class WalletNavigation
{
    /// <summary>
    /// Waits until the page's address ends with <paramref name="suffix"/> (the answer to a submit has navigated), failing with
    /// the page's text when it does not within 30 s. Not WaitForLoadStateAsync: right after a click it can see the old document,
    /// already loaded, and return before the navigation starts (a test then reads a page being replaced; seen under load).
    /// </summary>
    public static async Task ArrivedAtAsync(IPage page, string suffix)
    {
        try
        {
            await page.WaitForURLAsync(url => url.EndsWith(suffix, StringComparison.Ordinal), new() { Timeout = 30_000 });
        }
        catch (TimeoutException)
        {
            throw new Shouldly.ShouldAssertException($"expected to arrive at …{suffix}, still at {page.Url}: {await page.Locator("main").InnerTextAsync()}");
        }
    }
}
