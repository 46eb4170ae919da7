using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.HttpOverrides;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Microsoft.Extensions.WebEncoders;
using Qianbao.Server.Consoles.Shared;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Consoles;

/// <summary>
/// The three web consoles (wallet, merchant, operator) as server-rendered Razor Pages under <c>/</c>, <c>/wallet</c>,
/// <c>/merchant</c> and <c>/operator</c>. A page holds no business logic: it is a client of the same HTTP API the apps
/// use (<see cref="ConsoleApi"/>), so PIN, step-up, tier limits, roles and error codes are the API's own. Assets are
/// embedded in the server assembly and served by it (no CDN).
/// </summary>
public static class ConsolesModule
{
    public static IServiceCollection AddConsoles(this IServiceCollection services)
    {
        services.AddRazorPages(pages =>
        {
            pages.RootDirectory = "/Consoles";
        });
        // Console folders are capitalised (Consoles/Wallet) but their cookies are scoped to lower-case paths (/wallet), and
        // browsers match cookie paths case-sensitively: every generated link is lower case.
        services.Configure<RouteOptions>(o => o.LowercaseUrls = true);
        // Pages are in Chinese: write its characters as they are, not as &#x..; entities (encoding for HTML still applies).
        services.Configure<WebEncoderOptions>(o => o.TextEncoderSettings = new TextEncoderSettings(UnicodeRanges.All));
        // Antiforgery tokens must verify on every server process of one deployment and after a restart: the keys live
        // in the data directory (processes sharing PostgreSQL share it, as they share the platform keys).
        services.AddDataProtection().SetApplicationName("qianbao");
        services.AddOptions<KeyManagementOptions>().Configure<QianbaoOptions, ILoggerFactory>((keys, options, logs) =>
        {
            var directory = Directory.CreateDirectory(Path.Combine(options.DataDir, "console-keys"));
            keys.XmlRepository = new FileSystemXmlRepository(directory, logs);
        });
        services.AddHttpClient<ConsoleApi>(client => client.Timeout = ConsoleApi.CallTimeout);
        services.AddSingleton<ConsoleApiAddress>();
        return services;
    }

    public static WebApplication MapConsoles(this WebApplication app)
    {
        // The console calls the API over loopback on behalf of the browser: the API sees the browser's address
        // (throttles, PIN lockouts, audit) only through X-Forwarded-For, trusted from loopback peers alone (the default
        // KnownNetworks of ForwardedHeadersOptions).
        app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor });
        ConsoleAssets.Map(app);
        app.MapRazorPages();
        return app;
    }
}
