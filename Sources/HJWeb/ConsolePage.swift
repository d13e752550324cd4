import HJReportKit

/// The console page: one self-contained HTML file (inline CSS and script, no external asset)
/// that polls the JSON endpoints every 2 s and draws its charts as inline SVG.
enum ConsolePage {
    static let html = """
    <!DOCTYPE html>
    <html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>hj212 console 监控平台</title><style>\(HTMLPage.consoleCSS)\(SeriesChart.css)</style></head>
    <body>
    <header><h1>hj212 console 监控平台</h1><span id="status" class="meta">loading…</span>
    <label class="toggle"><input type="checkbox" id="truth-toggle"> ground truth 真值</label></header>
    <div id="errors" hidden></div>
    <main>
    <section><h2>Units 监控点</h2><table id="units"><thead><tr><th>online 在线</th><th>MN</th><th>unit 名称</th><th>last values 最新数据</th><th>last seen 最后上报</th></tr></thead><tbody></tbody></table></section>
    <section><h2>Alarms 告警 <span id="alarm-count" class="meta"></span></h2><table id="alarms"><thead><tr><th>#</th><th>rule 规则</th><th>MN</th><th>factor 因子</th><th>start 开始</th><th>end 结束</th><th>evidence 证据</th></tr></thead><tbody></tbody></table></section>
    <section id="detail" hidden><h2 id="detail-title"></h2>
    <p class="meta">kind 类型: <select id="kind"><option value="rtd">实时 real-time</option><option value="minute" selected>分钟 minute</option><option value="hour">小时 hour</option><option value="day">日 day</option></select>
    · red dashes: limit 限值 · red marks: alarms 告警 · purple dots: flags 标记 · orange: ground truth 真值</p>
    <div id="charts"></div></section>
    </main>
    <script>
    \(script)
    </script>
    </body></html>
    """

    static let script = #"""
    (function(){
    'use strict';
    var errorsBox=document.getElementById('errors');
    function report(msg){errorsBox.hidden=false;var p=document.createElement('p');p.className='error';p.textContent=String(msg);errorsBox.appendChild(p);}
    window.addEventListener('error',function(e){report(e.message||'error');});
    window.addEventListener('unhandledrejection',function(e){report('promise: '+(e.reason&&e.reason.message||e.reason));});
    var state={units:[],alarms:[],selected:null,truth:false,rules:{}};
    function el(tag,attrs,text){var e=document.createElement(tag);if(attrs){for(var k in attrs){e.setAttribute(k,attrs[k]);}}if(text!==undefined){e.textContent=text;}return e;}
    function get(url){return fetch(url,{cache:'no-store'}).then(function(r){if(!r.ok){throw new Error(url+': '+r.status);}return r.json();});}
    function fmt(v){if(v===null||v===undefined){return '';}var a=Math.abs(v);return a>=100?String(Math.round(v)):String(Math.round(v*100)/100);}
    function renderUnits(){
      var body=document.querySelector('#units tbody');body.textContent='';
      state.units.forEach(function(u){
        var tr=el('tr',{'data-mn':u.mn});if(u.open_alarms){tr.className='alarmed';}
        tr.appendChild(el('td',{'class':u.online?'on':'off'},u.online?'● online':'○ offline'));
        var a=el('a',{href:'#'+u.mn},u.mn);var td=el('td');td.appendChild(a);tr.appendChild(td);
        tr.appendChild(el('td',null,(u.name?u.name+' · ':'')+(u.title_zh||'')+' '+(u.title_en||'')));
        var vals=el('td',{'class':'values'});
        u.values.forEach(function(v){var s=el('span',{'class':'val'+(v.over?' over':'')+(v.flag&&v.flag!=='N'?' flagged':''),title:v.kind+' '+v.time+(v.limit!==null?' limit '+v.limit:'')},v.factor+' '+fmt(v.value)+(v.flag&&v.flag!=='N'?' '+v.flag:''));vals.appendChild(s);});
        tr.appendChild(vals);tr.appendChild(el('td',null,u.last_seen||'–'));body.appendChild(tr);
      });
    }
    function renderAlarms(){
      var body=document.querySelector('#alarms tbody');body.textContent='';
      var list=state.alarms.slice().reverse();
      list.forEach(function(a){
        var tr=el('tr',{'class':a.end===null?'open':'closed'});
        tr.appendChild(el('td',null,String(a.id)));tr.appendChild(el('td',null,(a.zh||'')+' '+(a.en||a.rule)));
        var td=el('td');td.appendChild(el('a',{href:'#'+a.mn},a.mn));tr.appendChild(td);
        tr.appendChild(el('td',null,a.factor||''));tr.appendChild(el('td',null,a.start));tr.appendChild(el('td',null,a.end===null?'open 持续':a.end));
        tr.appendChild(el('td',null,a.evidence));body.appendChild(tr);
      });
      document.getElementById('alarm-count').textContent=list.length+' shown, '+list.filter(function(a){return a.end===null;}).length+' open';
    }
    var NS='http://www.w3.org/2000/svg';
    function svgEl(tag,attrs){var e=document.createElementNS(NS,tag);for(var k in attrs){e.setAttribute(k,attrs[k]);}return e;}
    function chart(data){
      var w=900,h=210,left=56,right=10,top=24,bottom=26,pw=w-left-right,ph=h-top-bottom;
      var svg=svgEl('svg',{'class':'series-chart',viewBox:'0 0 '+w+' '+h,width:w,height:h,'data-unit':data.mn,'data-factor':data.factor});
      var title=svgEl('text',{x:left,y:15,'class':'ct'});title.textContent=data.factor+' · '+data.kind+' ('+data.points.length+' points)';svg.appendChild(title);
      svg.appendChild(svgEl('rect',{x:left,y:top,width:pw,height:ph,'class':'frame'}));
      var pts=data.points;
      if(pts.length===0){var t=svgEl('text',{x:w/2,y:h/2,'text-anchor':'middle'});t.textContent='no data 无数据';svg.appendChild(t);return svg;}
      var x0=pts[0][0],x1=pts[pts.length-1][0];if(x1<=x0){x1=x0+60000;}
      var ymin=0,ymax=-Infinity;pts.forEach(function(p){if(p[1]<ymin){ymin=p[1];}if(p[1]>ymax){ymax=p[1];}});
      if(data.limit!==null&&data.limit*1.1>ymax){ymax=data.limit*1.1;}if(!(ymax>ymin)){ymax=ymin+1;}ymax+=(ymax-ymin)*0.05;
      function px(t){return left+(t-x0)/(x1-x0)*pw;}function py(v){return top+ph-(v-ymin)/(ymax-ymin)*ph;}
      if(state.truth){data.truth.forEach(function(b){var a=Math.max(left,px(b.start_ms)),e=Math.min(left+pw,px(b.end_ms===null?x1:b.end_ms));if(e>=a){var r=svgEl('rect',{'class':'truth',x:a,y:top,width:Math.max(2,e-a),height:ph});svg.appendChild(r);}});}
      for(var i=0;i<=4;i++){var v=ymin+(ymax-ymin)*i/4,y=py(v);svg.appendChild(svgEl('line',{x1:left,x2:left+pw,y1:y,y2:y,'class':'grid'}));var lt=svgEl('text',{x:left-4,y:y+4,'text-anchor':'end'});lt.textContent=fmt(v);svg.appendChild(lt);}
      for(var j=0;j<=5;j++){var tt=x0+(x1-x0)*j/5,d=new Date(tt);var xl=svgEl('text',{x:px(tt),y:h-8,'text-anchor':'middle'});xl.textContent=('0'+d.getUTCHours()).slice(-2)+':'+('0'+d.getUTCMinutes()).slice(-2);svg.appendChild(xl);}
      if(data.limit!==null){svg.appendChild(svgEl('line',{'class':'limit',x1:left,x2:left+pw,y1:py(data.limit),y2:py(data.limit)}));}
      if(data.minimum!==null&&data.minimum>=ymin&&data.minimum<=ymax){svg.appendChild(svgEl('line',{'class':'limit minimum',x1:left,x2:left+pw,y1:py(data.minimum),y2:py(data.minimum)}));}
      var path='',prev=null;pts.forEach(function(p){path+=(prev===null||p[0]-prev>900000?'M':'L')+px(p[0]).toFixed(1)+','+py(p[1]).toFixed(1)+' ';prev=p[0];});
      svg.appendChild(svgEl('path',{'class':'series',d:path}));
      pts.forEach(function(p){if(p[2]&&p[2]!=='N'){var c=svgEl('circle',{'class':'flag',cx:px(p[0]),cy:py(p[1]),r:2.5});svg.appendChild(c);}});
      data.alarms.forEach(function(a){var s=Math.min(left+pw,Math.max(left,px(a.start_ms))),e=Math.min(left+pw,Math.max(s,px(a.end_ms===null?x1:a.end_ms)));
        var g=svgEl('g',{'class':'alarm'});var tl=svgEl('title',{});tl.textContent='#'+a.id+' '+(a.zh||a.rule)+': '+a.evidence;g.appendChild(tl);
        g.appendChild(svgEl('rect',{x:s,y:top,width:Math.max(2,e-s),height:5}));g.appendChild(svgEl('line',{x1:s,x2:s,y1:top,y2:top+ph}));svg.appendChild(g);});
      return svg;
    }
    function renderDetail(){
      var box=document.getElementById('detail');var mn=state.selected;
      if(!mn){box.hidden=true;return Promise.resolve();}
      var u=state.units.filter(function(x){return x.mn===mn;})[0];box.hidden=false;
      document.getElementById('detail-title').textContent=mn+(u?' · '+(u.name||'')+' '+(u.title_zh||'')+' '+(u.title_en||''):'');
      var kind=document.getElementById('kind').value;var factors=u?u.values.map(function(v){return v.factor;}):[];
      return Promise.all(factors.map(function(f){return get('/api/series?mn='+encodeURIComponent(mn)+'&factor='+encodeURIComponent(f)+'&kind='+kind);})).then(function(list){
        var charts=document.getElementById('charts');charts.textContent='';list.forEach(function(d){charts.appendChild(chart(d));});
        document.body.setAttribute('data-charts',String(list.length));
      });
    }
    function refresh(){
      return Promise.all([get('/api/units'),get('/api/alarms?since=0')]).then(function(r){
        state.units=r[0].units;state.alarms=r[1].alarms;
        var online=state.units.filter(function(u){return u.online;}).length;
        document.getElementById('status').textContent=r[0].now+' · '+online+'/'+state.units.length+' online 在线 · '+r[1].open+' open alarms 告警';
        renderUnits();renderAlarms();document.body.setAttribute('data-ready','1');
      });
    }
    function select(){state.selected=decodeURIComponent(location.hash.slice(1))||null;return renderDetail();}
    window.addEventListener('hashchange',function(){select().catch(report);});
    document.getElementById('kind').addEventListener('change',function(){renderDetail().catch(report);});
    document.getElementById('truth-toggle').addEventListener('change',function(e){state.truth=e.target.checked;renderDetail().catch(report);});
    refresh().then(select).catch(report);
    var ticks=0;setInterval(function(){ticks++;refresh().then(function(){if(ticks%3===0){return renderDetail();}}).catch(report);},2000);
    })();
    """#
}

extension HTMLPage {
    static let consoleCSS = """
    body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:0 auto;max-width:1200px;color:#222;padding:0 1em}
    header{display:flex;gap:1.2em;align-items:baseline;flex-wrap:wrap;border-bottom:1px solid #ddd}h1{font-size:1.4em}
    h2{font-size:1.15em;margin-top:1.2em}.meta{color:#666;font-size:.9em}
    table{border-collapse:collapse;width:100%;font-size:.88em}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}
    td.on{color:#2a9d4a;white-space:nowrap}td.off{color:#999;white-space:nowrap}tr.alarmed td:first-child{border-left:4px solid #d62728}
    tr.open{background:#fff3f3}span.val{display:inline-block;margin:0 .6em .1em 0;white-space:nowrap}span.val.over{color:#d62728;font-weight:600}span.val.flagged{color:#9467bd}
    #errors{background:#fee;border:1px solid #d62728;padding:.4em}#charts{display:flex;flex-direction:column;gap:.4em}
    """
}
