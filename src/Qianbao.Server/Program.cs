using Qianbao.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddQianbao();
var app = builder.Build();
await Startup.InitializeAsync(app.Services);
app.MapQianbao();
await app.RunAsync();

/// <summary>Entry point type, public so WebApplicationFactory can find it.</summary>
public partial class Program;
